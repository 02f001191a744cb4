use hrms::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{error_code, json, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_paginates_filters_and_searches() {
    let app = spawn_app().await;
    let token = app.token(0, Role::Employee).await;
    let all = json(app.get("/employees?per_page=100", Some(&token)).await).await;
    assert_eq!(all["total"], 12);
    assert_eq!(all["items"].as_array().unwrap().len(), 12);
    let marker = &app.tenant(0).marker;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["email"].as_str().unwrap().contains(marker))
    );

    let page3 = json(app.get("/employees?per_page=5&page=3", Some(&token)).await).await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 2);
    assert_eq!(page3["total"], 12);

    let dept = app.tenant(0).department_ids[0];
    let in_dept = json(
        app.get(
            &format!("/employees?department_id={dept}&per_page=100"),
            Some(&token),
        )
        .await,
    )
    .await;
    assert_eq!(
        in_dept["total"], 4,
        "12 employees round-robin over 3 departments"
    );
    assert!(
        in_dept["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["department_id"] == dept.to_string())
    );

    let someone = &all["items"][0];
    let q = someone["last_name"].as_str().unwrap().to_lowercase();
    let found = json(app.get(&format!("/employees?q={q}"), Some(&token)).await).await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == someone["id"])
    );
    assert!(found["items"].as_array().unwrap().iter().all(|e| {
        let name = format!(
            "{} {}",
            e["first_name"].as_str().unwrap(),
            e["last_name"].as_str().unwrap()
        );
        name.to_lowercase().contains(&q)
    }));
    let none = json(app.get("/employees?q=zzzz-nobody", Some(&token)).await).await;
    assert_eq!(none["total"], 0);
    let own = app
        .tenant(0)
        .user(Role::Employee)
        .unwrap()
        .employee_id
        .to_string();
    for e in all["items"].as_array().unwrap() {
        if e["id"] != own.as_str() {
            assert!(
                e["salary_cents"].is_null(),
                "employees do not see others' salaries"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_update_and_deactivate() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let dept = app.tenant(0).department_ids[1];
    let created = app
        .post("/employees", Some(&hr), &json!({"first_name": "Katherine", "last_name": "Johnson",
            "email": "Katherine.Johnson@example.com", "department_id": dept, "salary_cents": 9_000_000, "hired_on": "2024-02-01"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    assert_eq!(created["email"], "katherine.johnson@example.com");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap();

    let fetched = json(app.get(&format!("/employees/{id}"), Some(&hr)).await).await;
    assert_eq!(fetched["salary_cents"], 9_000_000);
    let balances = json(
        app.get(&format!("/employees/{id}/leave-balances"), Some(&hr))
            .await,
    )
    .await;
    assert_eq!(
        balances.as_array().unwrap().len(),
        3,
        "new employees get leave balances"
    );

    let updated = app
        .send(
            Method::PATCH,
            &format!("/employees/{id}"),
            Some(&hr),
            Some(&json!({"job_title": "Mathematician"})),
            None,
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(json(updated).await["job_title"], "Mathematician");

    let deactivated = json(
        app.post(
            &format!("/employees/{id}/deactivate"),
            Some(&hr),
            &json!(null),
        )
        .await,
    )
    .await;
    assert_eq!(deactivated["status"], "inactive");
    let inactive = json(app.get("/employees?status=inactive", Some(&hr)).await).await;
    assert_eq!(inactive["total"], 1);

    let dup = app
        .post(
            "/employees",
            Some(&hr),
            &json!({"first_name": "K", "last_name": "J", "email": "katherine.johnson@example.com"}),
        )
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(dup).await, "duplicate");
    let missing = app
        .get(&format!("/employees/{}", uuid::Uuid::new_v4()), Some(&hr))
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departments_list_get_and_create_with_manager() {
    let app = spawn_app().await;
    let hr = app.token(0, Role::HrAdmin).await;
    let list = json(app.get("/departments", Some(&hr)).await).await;
    assert_eq!(list["total"], 3);
    let manager = app.tenant(0).employee_ids[5];
    let created = app
        .post(
            "/departments",
            Some(&hr),
            &json!({"name": "Research", "manager_employee_id": manager}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = json(created).await["id"].as_str().unwrap().to_owned();
    let got = json(app.get(&format!("/departments/{id}"), Some(&hr)).await).await;
    assert_eq!(got["manager_employee_id"], manager.to_string());
    assert_eq!(got["employee_count"], 0);
    let dup = app
        .post("/departments", Some(&hr), &json!({"name": "Research"}))
        .await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    let bad_manager = app
        .post(
            "/departments",
            Some(&hr),
            &json!({"name": "Ghosts", "manager_employee_id": uuid::Uuid::new_v4()}),
        )
        .await;
    assert_eq!(bad_manager.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let employee = app.token(0, Role::Employee).await;
    assert_eq!(
        app.post("/departments", Some(&employee), &json!({"name": "X"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}
