//! Ids that exist, found through the API itself, so that part of the generated requests get
//! past "not found" and reach the handlers' own checks — where the interesting answers are.

use rand::Rng;
use rand::rngs::StdRng;
use reqwest::Client;
use serde_json::{Value, json};

use crate::FuzzError;

/// Ids per kind of path parameter.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Employees of the fuzzer's tenant, other than its own two accounts: deactivating
    /// those would end its tokens and, with them, the run.
    pub employees: Vec<String>,
    /// Departments of the fuzzer's tenant.
    pub departments: Vec<String>,
    /// Tenants whose limits the operator's operations may change: never the fuzzer's own,
    /// whose tiny limits would end the run early in 429s.
    pub tenants: Vec<String>,
    /// Leave requests the fuzzer's employee made.
    pub leave: Vec<String>,
    /// Payroll runs the fuzzer's HR admin started.
    pub payroll_runs: Vec<String>,
}

impl Known {
    /// The ids a path's `{id}` stands for.
    pub fn for_path(&self, path: &str) -> &[String] {
        if path.starts_with("/admin/tenants") {
            &self.tenants
        } else if path.starts_with("/departments") {
            &self.departments
        } else if path.starts_with("/leave") {
            &self.leave
        } else if path.starts_with("/payroll") {
            &self.payroll_runs
        } else {
            &self.employees
        }
    }
}

/// Who the fuzzer logs in as (a tenant's HR admin and one of its employees).
#[derive(Debug, Clone)]
pub struct Login {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A logged-in account: its token and its own employee record.
#[derive(Debug, Clone)]
pub struct Session {
    /// Bearer token.
    pub token: String,
    /// The account's employee id, when it has one.
    pub employee_id: Option<String>,
}

/// `POST /auth/login`.
pub async fn login(client: &Client, base_url: &str, who: &Login) -> Result<Session, FuzzError> {
    let response = client
        .post(format!("{base_url}/auth/login"))
        .json(&json!({"email": who.email, "password": who.password}))
        .send()
        .await
        .map_err(|e| FuzzError::Setup(format!("logging in as {}: {e}", who.email)))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let token = body["access_token"].as_str().ok_or_else(|| {
        FuzzError::Setup(format!(
            "logging in as {}: {status} without an access_token",
            who.email
        ))
    })?;
    Ok(Session {
        token: token.to_owned(),
        employee_id: body["employee_id"].as_str().map(str::to_owned),
    })
}

/// Finds ids through the API as `hr_admin` and `employee`, and makes a few objects of its
/// own (leave requests, a payroll run) at dates drawn from `rng`, so reruns against the same
/// deployment seldom collide with their own earlier objects.
pub async fn discover(
    client: &Client,
    base_url: &str,
    hr_admin: &Session,
    employee: &Session,
    other_tenants: Vec<String>,
    rng: &mut StdRng,
) -> Result<Known, FuzzError> {
    let own: Vec<&str> = [hr_admin, employee]
        .iter()
        .filter_map(|s| s.employee_id.as_deref())
        .collect();
    let employees = list_ids(client, base_url, "/employees", &hr_admin.token)
        .await?
        .into_iter()
        .filter(|id| !own.contains(&id.as_str()))
        .collect();
    let departments = list_ids(client, base_url, "/departments", &hr_admin.token).await?;
    // This calendar year: leave balances exist per year, and a service seeds the current one.
    let year = chrono::Datelike::year(&chrono::Utc::now());
    let month = rng.random_range(1..=12);
    let first = rng.random_range(1..=24);
    let mut leave = Vec::new();
    for day in first..first + 4 {
        let date = format!("{year}-{month:02}-{day:02}");
        let body = json!({"leave_type": "unpaid", "start_date": date, "end_date": date});
        if let Some(id) = create(client, base_url, "/leave/requests", &employee.token, &body).await
        {
            leave.push(id);
        }
    }
    let body = json!({"period_start": format!("{year}-{month:02}-01"),
        "period_end": format!("{year}-{month:02}-28")});
    let payroll_runs = create(client, base_url, "/payroll/runs", &hr_admin.token, &body)
        .await
        .into_iter()
        .collect();
    Ok(Known {
        employees,
        departments,
        tenants: other_tenants,
        leave,
        payroll_runs,
    })
}

/// The `items[].id` of a list's first page.
async fn list_ids(
    client: &Client,
    base_url: &str,
    path: &str,
    token: &str,
) -> Result<Vec<String>, FuzzError> {
    let response = client
        .get(format!("{base_url}{path}?per_page=100"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| FuzzError::Setup(format!("GET {path}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FuzzError::Setup(format!("GET {path}: {status}")));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| FuzzError::Setup(format!("GET {path}: {e}")))?;
    Ok(body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .collect())
}

/// POSTs `body` and returns the new object's id; a refusal only means one id fewer.
async fn create(
    client: &Client,
    base_url: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Option<String> {
    let response = client
        .post(format!("{base_url}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}
