use hrms::auth::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_code, json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_shift_clock_out_and_history() {
    let app = spawn_app().await;
    let token = app.token(0, Role::Employee).await;
    let me = app.tenant(0).user(Role::Employee).unwrap().employee_id;
    let opened = app
        .post("/attendance/clock-in", Some(&token), &Value::Null)
        .await;
    assert_eq!(opened.status(), StatusCode::CREATED);
    let shift = json(opened).await;
    assert!(shift["clock_out"].is_null());
    let again = app
        .post("/attendance/clock-in", Some(&token), &Value::Null)
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(again).await, "shift_open");

    let closed = json(
        app.post("/attendance/clock-out", Some(&token), &Value::Null)
            .await,
    )
    .await;
    assert_eq!(closed["id"], shift["id"]);
    assert!(closed["clock_out"].is_string());
    let none_open = app
        .post("/attendance/clock-out", Some(&token), &Value::Null)
        .await;
    assert_eq!(none_open.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(none_open).await, "no_open_shift");

    let history = json(
        app.get(&format!("/employees/{me}/attendance"), Some(&token))
            .await,
    )
    .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["id"], shift["id"]);
    let old = json(
        app.get(
            &format!("/employees/{me}/attendance?from=2020-01-01&to=2020-12-31"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(old.as_array().unwrap().len(), 0, "the range filters");

    // Employees see only their own history; managers see others'.
    let other = app.tenant(0).employee_ids[0];
    assert_eq!(
        app.get(&format!("/employees/{other}/attendance"), Some(&token))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let manager = app.token(0, Role::Manager).await;
    assert_eq!(
        app.get(&format!("/employees/{me}/attendance"), Some(&manager))
            .await
            .status(),
        StatusCode::OK
    );
}
