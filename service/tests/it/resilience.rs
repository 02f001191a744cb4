//! The database dies: requests fail fast with 503, the process stays up, readiness turns
//! false, and everything recovers by itself when the database returns.

use std::time::{Duration, Instant};

use hrms::auth::Role;
use reqwest::StatusCode;

use crate::helpers::{POLL_DEADLINE, error_code, json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_gives_fast_503s_then_recovers() {
    let app = spawn_app().await;
    let token = app.token(0, Role::Employee).await;
    assert_eq!(
        app.get("/employees", Some(&token)).await.status(),
        StatusCode::OK
    );

    app.stack.postgres.stop().await.expect("stop postgres");
    let started = Instant::now();
    let down = app.get("/employees", Some(&token)).await;
    let took = started.elapsed();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().contains_key("retry-after"));
    assert_eq!(error_code(down).await, "unavailable");
    // Bounded by the 2 s acquire timeout (plus slack for a loaded machine), not hanging.
    assert!(took < Duration::from_secs(10), "503 took {took:?}");
    assert_eq!(
        app.get("/health/live", None).await.status(),
        StatusCode::OK,
        "process stays up"
    );
    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(ready).await["postgres"], false);

    app.stack.postgres.start().await.expect("start postgres");
    assert!(
        app.wait_for_status("/employees", Some(&token), StatusCode::OK, POLL_DEADLINE)
            .await,
        "recovered"
    );
    assert!(
        app.wait_for_status("/health/ready", None, StatusCode::OK, POLL_DEADLINE)
            .await
    );
    let login_again = app.token(0, Role::HrAdmin).await;
    assert!(!login_again.is_empty());
}
