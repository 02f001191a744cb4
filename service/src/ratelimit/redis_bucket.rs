//! The fleet-wide token bucket: one Lua script, one round trip, atomic in Redis.
//!
//! Doing refill + take inside the script (rather than GET then SET from Rust) is what makes the
//! limit hold across many service processes: Redis runs a script without interleaving other
//! commands, so two replicas cannot both spend the last token.

use crate::cost::Measure;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use uuid::Uuid;

use super::config::{ClassLimits, EndpointClass};
use super::local_bucket::BucketOutcome;

/// Why Redis produced no decision; every variant sends the request to the local bucket.
#[derive(Debug, thiserror::Error)]
pub enum RedisBucketError {
    /// Connection refused or dropped, script error, server error.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// Redis did not answer within the configured bound.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// Refill-and-take. Why each choice:
/// - `TIME` (the Redis clock), not the caller's: replicas' clocks disagree, Redis has one.
///   Since Redis 5 scripts replicate their effects, so a non-deterministic command is allowed.
/// - Timestamps in whole microseconds formatted with `%d`: a plain `tostring` keeps only 14
///   significant digits and would round them to 10 ms.
/// - `PEXPIRE` at "time until full" (+1 s slack): a full bucket equals an absent one, so idle
///   keys vanish without changing any decision.
/// - Waits are rounded up to the millisecond so a client that waits `retry` finds a token.
///
/// KEYS[1] = bucket hash; ARGV[1] = capacity; ARGV[2] = refill per second.
/// Returns {allowed (0/1), remaining whole tokens, ms until next token, ms until full}.
const TAKE_LUA: &str = r#"
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local elapsed = math.max(0, now - ts)
tokens = math.min(capacity, tokens + elapsed * rate / 1000000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local next_ms = 0
if tokens < 1 then
  next_ms = math.ceil((1 - tokens) * 1000 / rate)
end
local full_ms = math.min(math.ceil((capacity - tokens) * 1000 / rate), 86400000)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], full_ms + 1000)
return {allowed, math.floor(tokens), math.min(next_ms, 86400000), full_ms}
"#;

/// The Redis key of one bucket. Public so tests and operators can inspect a bucket.
pub fn bucket_key(tenant: Uuid, class: EndpointClass) -> String {
    format!("rl:{tenant}:{class}")
}

/// A connection plus the script; cheap to clone (`ConnectionManager` is a handle).
#[derive(Clone)]
pub(crate) struct RedisBucket {
    conn: ConnectionManager,
    script: Script,
}

impl RedisBucket {
    /// Wraps an already configured connection manager (it reconnects by itself).
    pub fn new(conn: ConnectionManager) -> Self {
        Self {
            conn,
            // `Script` hashes the body once; `invoke_async` sends EVALSHA and falls back to
            // SCRIPT LOAD + EVALSHA on NOSCRIPT, e.g. after Redis restarted empty.
            script: Script::new(TAKE_LUA),
        }
    }

    /// Refills and takes one token from `(tenant, class)` in a single round trip.
    pub async fn take(
        &self,
        tenant: Uuid,
        class: EndpointClass,
        limits: ClassLimits,
    ) -> Result<BucketOutcome, RedisBucketError> {
        let limits = limits.normalized();
        let mut conn = self.conn.clone();
        let (allowed, remaining, next_ms, full_ms): (i64, i64, i64, i64) = self
            .script
            .key(bucket_key(tenant, class))
            .arg(limits.capacity)
            .arg(limits.refill_per_sec)
            .invoke_async(&mut conn)
            .redis()
            .await?;
        Ok(BucketOutcome {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            retry_after: millis(next_ms),
            reset_after: millis(full_ms),
        })
    }
}

/// A non-negative millisecond count from Lua; negative (never expected) clamps to zero.
fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format_is_stable() {
        let t = Uuid::from_u128(0xabc);
        assert_eq!(
            bucket_key(t, EndpointClass::Heavy),
            "rl:00000000-0000-0000-0000-000000000abc:heavy"
        );
    }

    #[test]
    fn negative_millis_clamp_to_zero() {
        assert_eq!(millis(-5), Duration::ZERO);
        assert_eq!(millis(1500), Duration::from_millis(1500));
    }
}
