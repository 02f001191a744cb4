#!/usr/bin/env bash
# docs/distributed.md's figure: one generator process against N local workers
# (`gauntlet distribute --engine local`), same scenario, same service: total req/s and the
# generators' CPU per request. The service runs apart (`gauntlet serve`, native backend), so
# its CPU is not counted; load goes to 127.0.0.1 only; every run is bounded by its plan.
#
#   scripts/distributed-figure.sh [BIN] [WORKERS...]   (default: target/release/gauntlet, 2 3)
#   ENGINES="local swarm" scripts/distributed-figure.sh …   (default: local)
#
# CPU is the process tree's user+sys (/usr/bin/time), start-up included; a swarm task's
# process is containerd's child, not ours, so for the swarm engine only req/s is meaningful.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/gauntlet}
shift || true
workers=("${@:-2 3}")
engines=${ENGINES:-local}
spec=scripts/noise-experiment.toml
work=$(mktemp -d)
creds=$work/credentials.json

GAUNTLET_BACKEND=native "$bin" serve --credentials-out "$creds" >"$work/serve.log" 2>&1 &
serve=$!
trap 'kill -INT $serve 2>/dev/null; wait $serve 2>/dev/null || true' EXIT
for _ in $(seq 600); do  # readiness: the credentials file appears once the service answers
  grep -q '^ready' "$work/serve.log" 2>/dev/null && break
  kill -0 $serve || { cat "$work/serve.log"; exit 3; }
  sleep 0.1
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -1)
[[ $url == http://127.0.0.1:* ]] || { echo "no loopback URL from gauntlet serve" >&2; exit 3; }

# report.json → "requests req/s"; /usr/bin/time's user+sys → CPU seconds of the whole tree.
figure() {  # label, out dir, time file
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
label, out, timing = sys.argv[1:]
r = json.load(open(f"{out}/report.json"))
n = r["total"]["count"]
secs = r["run"]["duration_us"] / 1e6
user, sys_ = map(float, open(timing).read().split()[-2:])
cpu = "n/a (in containers)" if "swarm" in label else \
    f"{user+sys_:6.2f} s = {1e3*(user+sys_)/n:5.2f} ms/request"
print(f"{label:>16}: {n:6d} requests in {secs:5.1f} s = {n/secs:7.1f} req/s; "
      f"generator CPU {cpu}; error rate {100*r['total']['errors']['total']/max(n,1):.2f}%")
PY
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f '%U %S' -o "$work/one.time" "$bin" run "$spec" --quiet \
  --target "$url" --credentials "$creds" --out "$work/one" || true
figure "1 process" "$work/one" "$work/one.time"
for engine in $engines; do
  for n in ${workers[@]}; do
    /usr/bin/time -f '%U %S' -o "$work/$engine$n.time" "$bin" distribute "$spec" \
      --engine "$engine" --workers "$n" --quiet --start-in 10s --target "$url" \
      --credentials "$creds" --out "$work/$engine$n" || true
    figure "$n $engine workers" "$work/$engine$n" "$work/$engine$n.time"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
