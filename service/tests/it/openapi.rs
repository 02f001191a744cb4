//! The served OpenAPI document: valid OpenAPI 3.1, every reference resolved, parameters where
//! they really are, limits from the validators' constants, and in agreement with the router
//! (every documented operation served, every other method on a documented path refused).

use std::collections::{BTreeSet, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use gauntlet_contract::spec::{METHODS, operations, resolve};

use crate::helpers::{TestApp, json, spawn_app};

/// The served document.
pub async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "$ref" {
                    out.push(item.as_str().unwrap_or_default().to_owned());
                }
                refs(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

fn template_vars(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

/// Routes reachable without a token: the rest must declare a security requirement.
fn is_open(path: &str) -> bool {
    [
        "/auth/login",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/openapi.json",
    ]
    .contains(&path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi_and_states_the_truth_about_every_operation() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let parsed = oas3::from_json(doc.to_string()).expect("a valid OpenAPI 3.1 document");
    assert!(parsed.openapi.starts_with("3.1"), "{}", parsed.openapi);

    let mut all_refs = Vec::new();
    refs(&doc, &mut all_refs);
    for r in &all_refs {
        assert!(
            r.starts_with("#/") && doc.pointer(&r[1..]).is_some(),
            "unresolved $ref {r}"
        );
    }
    for schema in ["EmployeeStatus", "LeaveStatus", "ErrorBody", "ErrorDetail"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    let mut operation_ids = HashSet::new();
    let operations = operations(&doc);
    assert!(operations.len() >= 28, "{} operations", operations.len());
    for operation in &operations {
        let (path, op) = (&operation.path, &operation.spec);
        let at = operation.name();
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(operation_ids.insert(id), "{at}: operationId repeated");
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut in_path = BTreeSet::new();
        for p in &params {
            let place = p["in"].as_str().unwrap_or_default();
            assert!(
                ["query", "header", "path", "cookie"].contains(&place),
                "{at}: parameter in {place}"
            );
            if place == "path" {
                assert_eq!(p["required"], true, "{at}: path parameters are required");
                in_path.insert(p["name"].as_str().unwrap_or_default().to_owned());
            } else {
                assert_ne!(p["required"], true, "{at}: {} is optional", p["name"]);
            }
        }
        assert_eq!(in_path, template_vars(path), "{at}: path parameters");
        let security = op["security"].as_array().cloned().unwrap_or_default();
        assert_eq!(security.is_empty(), is_open(path), "{at}: security");
        for requirement in &security {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes[name].is_object(), "{at}: scheme {name}");
            }
        }
        let responses = op["responses"].as_object().expect("responses");
        if !security.is_empty() {
            assert!(responses.contains_key("401"), "{at}: 401 undocumented");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{at}: {status}");
            }
        }
        for (status, response) in responses {
            let error = status.starts_with('4') || status.starts_with('5');
            if error && path != "/health/ready" {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/ErrorBody", "{at} {status}");
            }
        }
    }
    let metrics = &doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("application/openmetrics-text")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_limits_are_the_validators_constants() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let new_employee = schema("NewEmployee");
    let first_name = resolve(&doc, &new_employee["properties"]["first_name"]);
    assert_eq!(first_name["maxLength"], hrms::text::NAME_MAX);
    assert_eq!(first_name["minLength"], 1);
    let email = resolve(&doc, &new_employee["properties"]["email"]);
    assert_eq!(email["format"], "email");
    assert_eq!(email["maxLength"], hrms::text::EMAIL_MAX);
    let salary = &new_employee["properties"]["salary_cents"];
    assert_eq!(salary["maximum"], hrms::routes::employees::SALARY_MAX_CENTS);
    let password = resolve(&doc, &new_employee["properties"]["password"]);
    let password = password
        .get("oneOf")
        .and_then(|o| o.as_array())
        .and_then(|o| o.iter().find(|s| s["type"] != "null"))
        .map(|s| resolve(&doc, s))
        .unwrap_or(password);
    assert_eq!(password["minLength"], hrms::text::PASSWORD_MIN);
    let new_leave = schema("NewLeaveRequest");
    let reason = resolve(&doc, &new_leave["properties"]["reason"]);
    let reason = reason
        .get("oneOf")
        .and_then(|o| o.as_array())
        .and_then(|o| o.iter().find(|s| s["type"] != "null"))
        .map(|s| resolve(&doc, s))
        .unwrap_or(reason);
    assert_eq!(reason["maxLength"], hrms::text::REASON_MAX);
    let list = &doc["paths"]["/employees"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))
            .clone()
    };
    assert_eq!(param("page")["in"], "query");
    assert_eq!(param("page")["schema"]["maximum"], hrms::routes::MAX_PAGE);
    assert_eq!(
        param("per_page")["schema"]["maximum"],
        hrms::routes::MAX_PER_PAGE
    );
    assert_eq!(param("q")["schema"]["maxLength"], hrms::text::SEARCH_MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_no_undocumented_method_is() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let id = uuid::Uuid::new_v4().to_string();
    let mut documented: BTreeSet<(String, String)> = BTreeSet::new();
    for op in operations(&doc) {
        documented.insert((op.path, op.method));
    }
    let paths: BTreeSet<String> = documented.iter().map(|(p, _)| p.clone()).collect();
    for path in &paths {
        let concrete = path.replace("{id}", &id);
        for method in METHODS {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app.send(m, &concrete, None, None, None).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let route_missing =
                status == StatusCode::NOT_FOUND && body["error"]["message"] == "route not found";
            let served = !route_missing && status != StatusCode::METHOD_NOT_ALLOWED;
            let is_documented = documented.contains(&(path.clone(), method.to_owned()));
            assert_eq!(
                served, is_documented,
                "{method} {path}: served {served} ({status} {body}), documented {is_documented}"
            );
        }
    }
    // Paths next to the documented ones are not served either.
    for path in [
        "/",
        "/admin",
        "/leave",
        "/payroll",
        "/health",
        "/employees/x/y/z",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
