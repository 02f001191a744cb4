// k6 in the peer comparison: PEER_USERS virtual users for PEER_SECS seconds against PEER_URL,
// closed model; with PEER_RATE, a constant arrival rate of that many iterations per second.
import http from 'k6/http';

const users = Number(__ENV.PEER_USERS);
const duration = `${__ENV.PEER_SECS}s`;
const rate = __ENV.PEER_RATE ? Number(__ENV.PEER_RATE) : null;

export const options = {
  summaryTrendStats: ['p(50)', 'p(99)', 'max'],
  scenarios: {
    peer: rate
      ? { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration,
          preAllocatedVUs: users, maxVUs: users }
      : { executor: 'constant-vus', vus: users, duration },
  },
};

export default function () {
  http.get(__ENV.PEER_URL);
}
