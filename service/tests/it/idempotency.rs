use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{error_code, json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_writes_with_one_key_create_one_row() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let body =
        json!({"first_name": "Mary", "last_name": "Jackson", "email": "mary.jackson@example.com"});
    let first = app
        .send(
            Method::POST,
            "/employees",
            Some(&hr),
            Some(&body),
            Some("key-1"),
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json(first).await;
    let retry = app
        .send(
            Method::POST,
            "/employees",
            Some(&hr),
            Some(&body),
            Some("key-1"),
        )
        .await;
    assert_eq!(
        retry.status(),
        StatusCode::CREATED,
        "the replay answers like the original"
    );
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(json(retry).await["id"], first["id"]);
    let (rows,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM employees WHERE email = 'mary.jackson@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(rows, 1);

    // The same key on another operation is a client bug.
    let reused = app
        .send(
            Method::POST,
            "/departments",
            Some(&hr),
            Some(&json!({"name": "Other"})),
            Some("key-1"),
        )
        .await;
    assert_eq!(reused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(reused).await, "idempotency_key_reused");
    // Keys are per tenant: tenant B may use "key-1" too.
    let b_hr = app.token(1, Role::HrAdmin).await;
    let b = app
        .send(
            Method::POST,
            "/departments",
            Some(&b_hr),
            Some(&json!({"name": "Other"})),
            Some("key-1"),
        )
        .await;
    assert_eq!(b.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_and_failed_attempts() {
    let app = spawn_app().await;
    let employee = app.token(0, Role::Employee).await;
    // Ten concurrent clock-ins with one key: one shift, ten identical answers.
    let attempts = (0..10).map(|_| {
        app.send(
            Method::POST,
            "/attendance/clock-in",
            Some(&employee),
            None,
            Some("shift-1"),
        )
    });
    let responses = futures::future::join_all(attempts).await;
    let mut ids = std::collections::HashSet::new();
    for r in responses {
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.insert(json(r).await["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1);
    let (shifts,): (i64,) = sqlx::query_as("SELECT count(*) FROM attendance")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(shifts, 1);
    // A failed write does not burn its key: 409 now, and the key still works later.
    let conflict = app
        .send(
            Method::POST,
            "/attendance/clock-in",
            Some(&employee),
            None,
            Some("shift-2"),
        )
        .await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.send(
            Method::POST,
            "/attendance/clock-out",
            Some(&employee),
            None,
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let later = app
        .send(
            Method::POST,
            "/attendance/clock-in",
            Some(&employee),
            None,
            Some("shift-2"),
        )
        .await;
    assert_eq!(later.status(), StatusCode::CREATED);
    let bad_key = app
        .send(
            Method::POST,
            "/attendance/clock-out",
            Some(&employee),
            None,
            Some("has space"),
        )
        .await;
    assert_eq!(bad_key.status(), StatusCode::BAD_REQUEST);
}
