use hrms::auth::Role;
use hrms::ids::EmployeeId;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, json, spawn_app};

/// A staff member of tenant 0 and the manager of their department.
async fn staff_and_manager(app: &TestApp) -> (String, String, EmployeeId) {
    let t = app.tenant(0);
    // Seed layout: employee e is in department e % 3; employee d+1 manages department d.
    let staff = t
        .users
        .iter()
        .find(|u| u.role == Role::Employee)
        .unwrap()
        .clone();
    let index = t
        .employee_ids
        .iter()
        .position(|id| *id == staff.employee_id)
        .unwrap();
    let manager = t.users[1 + index % 3].clone();
    assert_eq!(manager.role, Role::Manager);
    let staff_token = app.login(&staff.email, &staff.password).await;
    let manager_token = app.login(&manager.email, &manager.password).await;
    (staff_token, manager_token, staff.employee_id)
}

fn year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}

async fn annual_remaining(app: &TestApp, token: &str, employee: EmployeeId) -> i64 {
    let balances = json(
        app.get(
            &format!("/employees/{employee}/leave-balances"),
            Some(token),
        )
        .await,
    )
    .await;
    balances
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["leave_type"] == "annual")
        .unwrap()["remaining_days"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approve_reject_and_balances() {
    let app = spawn_app().await;
    let (staff, manager, employee) = staff_and_manager(&app).await;
    let y = year();
    assert_eq!(annual_remaining(&app, &staff, employee).await, 25);
    let request = json(app.post("/leave/requests", Some(&staff),
        &json!({"leave_type": "annual", "start_date": format!("{y}-03-02"), "end_date": format!("{y}-03-06"), "reason": "trip"})).await).await;
    assert_eq!(request["days"], 5);
    assert_eq!(request["status"], "pending");
    let id = request["id"].as_str().unwrap();

    // The requester cannot decide; another employee role cannot either.
    assert_eq!(
        app.post(
            &format!("/leave/requests/{id}/approve"),
            Some(&staff),
            &Value::Null
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let approved = json(
        app.post(
            &format!("/leave/requests/{id}/approve"),
            Some(&manager),
            &Value::Null,
        )
        .await,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(
        annual_remaining(&app, &staff, employee).await,
        20,
        "approval deducts"
    );
    let twice = app
        .post(
            &format!("/leave/requests/{id}/reject"),
            Some(&manager),
            &Value::Null,
        )
        .await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(twice).await, "already_decided");

    let second = json(app.post("/leave/requests", Some(&staff),
        &json!({"leave_type": "sick", "start_date": format!("{y}-04-01"), "end_date": format!("{y}-04-01")})).await).await;
    let rejected = json(
        app.post(
            &format!("/leave/requests/{}/reject", second["id"].as_str().unwrap()),
            Some(&manager),
            &Value::Null,
        )
        .await,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");

    let too_long = app.post("/leave/requests", Some(&staff),
        &json!({"leave_type": "annual", "start_date": format!("{y}-06-01"), "end_date": format!("{y}-07-15")})).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(too_long).await, "insufficient_balance");

    let mine = json(app.get("/leave/requests", Some(&staff)).await).await;
    assert_eq!(mine["total"], 2);
    let pending = json(
        app.get("/leave/requests?status=approved", Some(&manager))
            .await,
    )
    .await;
    assert_eq!(pending["total"], 1);
    let hr = app.token(0, Role::HrAdmin).await;
    assert_eq!(
        json(app.get("/leave/requests", Some(&hr)).await).await["total"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_decide_only_for_their_departments() {
    let app = spawn_app().await;
    let (staff, manager, _) = staff_and_manager(&app).await;
    let y = year();
    let request = json(app.post("/leave/requests", Some(&staff),
        &json!({"leave_type": "annual", "start_date": format!("{y}-09-01"), "end_date": format!("{y}-09-02")})).await).await;
    let id = request["id"].as_str().unwrap();
    let own_manager_claims = json(app.get("/employees?per_page=1", Some(&manager)).await).await;
    assert_eq!(own_manager_claims["total"], 12);
    let mut refused = 0;
    for m in app
        .tenant(0)
        .users
        .iter()
        .filter(|u| u.role == Role::Manager)
    {
        let token = app.login(&m.email, &m.password).await;
        let r = app
            .post(
                &format!("/leave/requests/{id}/approve"),
                Some(&token),
                &Value::Null,
            )
            .await;
        if r.status() == StatusCode::FORBIDDEN {
            refused += 1;
        } else {
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "only the department's manager may approve"
            );
        }
    }
    assert_eq!(
        refused, 2,
        "the two managers of other departments are refused"
    );
}
