//! Response headers of a decision, after the IETF `RateLimit` header fields draft
//! (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset` (delta seconds until the quota is fully restored), plus RFC 9110
//! `Retry-After` on refusals.

use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::Decision;

/// `RateLimit-Limit`: the burst (bucket capacity).
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: whole requests left right now.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: seconds until the bucket is full again.
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Whole seconds, rounded up: a client told "0" would retry too early.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Decision {
    /// Headers to add to the response, whether the request was allowed or not.
    ///
    /// `Retry-After` appears only on refusals and is at least 1: `Retry-After: 0` invites a
    /// client to hammer in a tight loop.
    pub fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(4);
        h.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit));
        h.insert(RATELIMIT_REMAINING, HeaderValue::from(self.remaining));
        h.insert(
            RATELIMIT_RESET,
            HeaderValue::from(ceil_secs(self.reset_after)),
        );
        if !self.allowed {
            let wait = self.retry_after.unwrap_or(self.reset_after);
            h.insert(RETRY_AFTER, HeaderValue::from(ceil_secs(wait).max(1)));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(allowed: bool, retry_after: Option<Duration>) -> Decision {
        Decision {
            allowed,
            limit: 20,
            remaining: if allowed { 7 } else { 0 },
            reset_after: Duration::from_millis(1_300),
            retry_after,
            degraded: false,
            unavailable: false,
        }
    }

    fn get<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
        h.get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn allowed_has_quota_headers_and_no_retry_after() {
        let h = decision(true, None).headers();
        assert_eq!(get(&h, "RateLimit-Limit"), Some("20"));
        assert_eq!(get(&h, "RateLimit-Remaining"), Some("7"));
        assert_eq!(get(&h, "RateLimit-Reset"), Some("2"), "1.3 s rounds up");
        assert_eq!(get(&h, "Retry-After"), None);
    }

    #[test]
    fn limited_has_retry_after_of_at_least_one_second() {
        let h = decision(false, Some(Duration::from_millis(100))).headers();
        assert_eq!(get(&h, "Retry-After"), Some("1"));
        assert_eq!(get(&h, "RateLimit-Remaining"), Some("0"));
        let h = decision(false, Some(Duration::from_millis(2_001))).headers();
        assert_eq!(get(&h, "Retry-After"), Some("3"));
        let h = decision(false, Some(Duration::ZERO)).headers();
        assert_eq!(get(&h, "Retry-After"), Some("1"));
    }

    #[test]
    fn exact_seconds_are_not_rounded_up() {
        assert_eq!(ceil_secs(Duration::from_secs(5)), 5);
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
    }
}
