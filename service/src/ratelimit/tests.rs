//! Unit tests of the limiter without Redis: config, overrides, degraded and fail-closed
//! decisions, and the webhook against a real HTTP listener on 127.0.0.1:0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;
use uuid::Uuid;

use super::*;

#[test]
fn default_config_is_sane_and_scales_with_tier() {
    let c = RateLimitConfig::default();
    assert!(c.fail_open);
    assert_eq!(c.warn_ratio, 0.9);
    assert_eq!(c.webhook_window, Duration::from_secs(60));
    assert!(c.redis_timeout <= Duration::from_millis(100));
    let tiers = [
        Tier::Free,
        Tier::Starter,
        Tier::Professional,
        Tier::Enterprise,
    ];
    for class in EndpointClass::ALL {
        for pair in tiers.windows(2) {
            let (lo, hi) = (c.tiers.get(pair[0], class), c.tiers.get(pair[1], class));
            assert!(hi.capacity > lo.capacity && hi.refill_per_sec > lo.refill_per_sec);
        }
        for tier in tiers {
            let l = c.tiers.get(tier, class);
            assert_eq!(ClassLimits::new(l.capacity, l.refill_per_sec), Ok(l));
            assert!(
                c.tiers.get(tier, EndpointClass::Heavy).capacity < l.capacity
                    || class == EndpointClass::Heavy
            );
        }
    }
    assert_eq!(
        c.tiers.get(Tier::Enterprise, EndpointClass::Read).capacity,
        2000
    );
}

#[test]
fn tier_and_class_parse_and_display_lowercase() {
    for t in [
        Tier::Free,
        Tier::Starter,
        Tier::Professional,
        Tier::Enterprise,
    ] {
        assert_eq!(t.to_string().parse::<Tier>(), Ok(t));
    }
    for c in EndpointClass::ALL {
        assert_eq!(c.to_string().parse::<EndpointClass>(), Ok(c));
    }
    assert_eq!("Enterprise".parse::<Tier>(), Ok(Tier::Enterprise));
    assert_eq!(
        "gold".parse::<Tier>(),
        Err(ConfigError::UnknownTier("gold".into()))
    );
    assert!(matches!(
        "x".parse::<EndpointClass>(),
        Err(ConfigError::UnknownClass(_))
    ));
}

#[test]
fn class_limits_constructor_rejects_nonsense() {
    assert_eq!(ClassLimits::new(0, 1.0), Err(ConfigError::ZeroCapacity));
    assert!(matches!(
        ClassLimits::new(1, 0.0),
        Err(ConfigError::BadRefill(_))
    ));
    assert!(matches!(
        ClassLimits::new(1, -2.0),
        Err(ConfigError::BadRefill(_))
    ));
    assert!(matches!(
        ClassLimits::new(1, f64::INFINITY),
        Err(ConfigError::BadRefill(_))
    ));
    assert!(ClassLimits::new(1, 0.01).is_ok());
}

#[test]
fn override_takes_precedence_and_clears() {
    let rl = RateLimiter::new(None, RateLimitConfig::default());
    let (t, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let table = rl.limits_for(t, Tier::Free, EndpointClass::Read);
    assert_eq!(table, RateLimitConfig::default().tiers.free.read);
    let custom = ClassLimits::new(3, 1.5).unwrap();
    rl.set_override(t, EndpointClass::Read, Some(custom));
    assert_eq!(rl.limits_for(t, Tier::Free, EndpointClass::Read), custom);
    assert_eq!(
        rl.limits_for(t, Tier::Enterprise, EndpointClass::Read),
        custom
    );
    assert_eq!(
        rl.limits_for(t, Tier::Free, EndpointClass::Write),
        RateLimitConfig::default().tiers.free.write
    );
    assert_eq!(rl.limits_for(other, Tier::Free, EndpointClass::Read), table);
    rl.set_override(t, EndpointClass::Read, None);
    assert_eq!(rl.limits_for(t, Tier::Free, EndpointClass::Read), table);
}

#[tokio::test]
async fn without_redis_local_buckets_decide_and_flag_degraded() {
    let rl = RateLimiter::new(None, RateLimitConfig::default());
    let t = Uuid::from_u128(9);
    rl.set_override(t, EndpointClass::Write, ClassLimits::new(3, 0.01).ok());
    for left in [2, 1, 0] {
        let d = rl.check(t, Tier::Free, EndpointClass::Write).await;
        assert!(d.allowed && d.degraded && !d.unavailable);
        assert_eq!((d.limit, d.remaining, d.retry_after), (3, left, None));
        assert_eq!(d.status(), None);
    }
    let d = rl.check(t, Tier::Free, EndpointClass::Write).await;
    assert!(!d.allowed && d.degraded && !d.unavailable);
    assert_eq!(d.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(
        d.retry_after.unwrap() > Duration::from_secs(60),
        "0.01/s: ~100 s per token"
    );
    assert!(rl.is_degraded());
    let snap = rl.usage_snapshot();
    assert_eq!(snap.len(), 1);
    assert_eq!((snap[0].allowed, snap[0].limited), (3, 1));
    // Full at the last decision, less what 0.01/s has refilled since (the snapshot is "now").
    let used = snap[0].used_ratio;
    assert!(used > 0.999 && used <= 1.0, "{used}");
    assert!(snap[0].degraded);
}

#[tokio::test]
async fn fail_closed_without_redis_refuses_with_503() {
    let config = RateLimitConfig {
        fail_open: false,
        ..RateLimitConfig::default()
    };
    let rl = RateLimiter::new(None, config);
    let d = rl
        .check(Uuid::from_u128(1), Tier::Enterprise, EndpointClass::Read)
        .await;
    assert!(!d.allowed && d.degraded && d.unavailable);
    assert_eq!(d.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert!(d.headers().contains_key("retry-after"));
    assert_eq!(
        rl.warnings_fired(),
        0,
        "an outage is not a tenant near its limit"
    );
}

/// A minimal HTTP receiver that counts requests and keeps their bodies.
struct Receiver {
    url: Url,
    calls: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
}

async fn spawn_receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (c, b) = (calls.clone(), bodies.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (c, b) = (c.clone(), b.clone());
            tokio::spawn(async move {
                let body = read_request_body(&mut sock).await;
                b.lock().unwrap().push(body);
                c.fetch_add(1, Ordering::SeqCst);
                let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = sock.write_all(ok).await;
            });
        }
    });
    Receiver { url, calls, bodies }
}

/// Reads one request with a `content-length` body (all reqwest sends for `.json`).
async fn read_request_body(sock: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text[end + 4..].to_string();
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// Polls `cond` every 10 ms until it holds or 10 s pass.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn webhook_config(url: Url, window: Duration) -> RateLimitConfig {
    RateLimitConfig {
        warn_ratio: 0.5,
        webhook_url: Some(url),
        webhook_window: window,
        ..RateLimitConfig::default()
    }
}

#[tokio::test]
async fn webhook_fires_once_per_window_per_bucket() {
    let rx = spawn_receiver().await;
    let rl = RateLimiter::new(
        None,
        webhook_config(rx.url.clone(), Duration::from_secs(60)),
    );
    let (a, b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    for t in [a, b] {
        rl.set_override(t, EndpointClass::Read, ClassLimits::new(4, 0.01).ok());
    }
    for _ in 0..20 {
        rl.check(a, Tier::Free, EndpointClass::Read).await;
    }
    assert_eq!(rl.warnings_fired(), 1);
    eventually("first webhook call", || {
        rx.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    // A second bucket warns on its own; its call arriving shows deliveries are flowing, and the
    // first tenant's 18 further near-limit requests must not have added any.
    for _ in 0..3 {
        rl.check(b, Tier::Free, EndpointClass::Read).await;
    }
    eventually("second webhook call", || {
        rx.calls.load(Ordering::SeqCst) == 2
    })
    .await;
    eventually("delivery counted", || rl.webhook_calls() == (2, 0)).await;
    let bodies = rx.bodies.lock().unwrap().clone();
    for t in [a, b] {
        let n = bodies
            .iter()
            .filter(|s| s.contains(&format!("\"tenant\":\"{t}\"")))
            .count();
        assert_eq!(n, 1, "one call for {t} in {bodies:?}");
    }
    assert!(bodies.iter().all(|s| s.contains("\"class\":\"read\"")
        && s.contains("\"ratio\":")
        && s.contains("\"at\":")));
    let snap = rl.usage_snapshot();
    assert_eq!(snap.iter().map(|u| u.warnings).sum::<u64>(), 2);
}

#[tokio::test]
async fn webhook_fires_again_after_the_window() {
    let rx = spawn_receiver().await;
    let rl = RateLimiter::new(
        None,
        webhook_config(rx.url.clone(), Duration::from_millis(200)),
    );
    let t = Uuid::from_u128(0xc);
    rl.set_override(t, EndpointClass::Heavy, ClassLimits::new(2, 0.01).ok());
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..1000 {
        rl.check(t, Tier::Free, EndpointClass::Heavy).await;
        if rl.warnings_fired() == 2 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rl.warnings_fired(), 2);
    eventually("two webhook calls", || rx.calls.load(Ordering::SeqCst) == 2).await;
}

#[tokio::test]
async fn webhook_to_a_dead_receiver_counts_a_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let rl = RateLimiter::new(None, webhook_config(url, Duration::from_secs(60)));
    let t = Uuid::from_u128(0xd);
    rl.set_override(t, EndpointClass::Read, ClassLimits::new(1, 0.01).ok());
    let d = rl.check(t, Tier::Free, EndpointClass::Read).await;
    assert!(d.allowed, "a failing webhook never affects the decision");
    assert_eq!(rl.warnings_fired(), 1);
    eventually("failure counted", || rl.webhook_calls() == (0, 1)).await;
}
