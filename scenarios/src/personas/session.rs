//! Per-user session data: the token and what the user learned about itself.

use goose::goose::GooseUser;
use serde_json::json;

use super::call::{self, Call};
use super::{Ctx, Persona};
use crate::hrms::{Endpoint, JsonBody};

/// What one virtual user keeps between transactions (goose session data).
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Bearer token.
    pub token: String,
    /// Index of the user's tenant in the fixture.
    pub tenant: usize,
    /// The user's own employee record.
    pub employee_id: Option<String>,
    /// The department the user belongs to (managers: the team they lead).
    pub department_id: Option<String>,
    /// Ids learned from lists (team members, created employees), used by later actions.
    pub known_ids: Vec<String>,
    /// A leave request waiting for this manager's decision.
    pub pending_leave: Option<String>,
    /// Counter for unique names and for spreading choices.
    pub counter: u64,
    /// When this user last started a payroll run.
    pub last_payroll: Option<std::time::Instant>,
    /// A `prober` user: its requests stay out of the latency statistics.
    pub prober: bool,
}

impl Session {
    /// The next counter value.
    pub fn tick(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

/// The user's session, logging in first when it has none (first action, or a failed
/// login). `None` when the login did not succeed: the action is skipped this time.
pub async fn ensure(user: &mut GooseUser, ctx: &Ctx, persona: Persona) -> Option<Session> {
    if let Some(session) = user.get_session_data::<Session>() {
        return Some(session.clone());
    }
    let session = login(user, ctx, persona).await?;
    user.set_session_data(session.clone());
    Some(session)
}

/// Stores an updated session.
pub fn save(user: &mut GooseUser, session: Session) {
    user.set_session_data(session);
}

async fn login(user: &mut GooseUser, ctx: &Ctx, persona: Persona) -> Option<Session> {
    let index = ctx.next_index(persona);
    let (tenant, credential) = ctx.fixture.pick(persona.role(), index)?;
    let body = json!({"email": credential.email, "password": credential.password});
    let reply = call::send(
        user,
        ctx,
        Call {
            endpoint: Endpoint::Login,
            path: "/auth/login",
            token: None,
            body: Some(body),
            expected: &[200],
        },
    )
    .await?;
    if !reply.expected {
        return None;
    }
    let json = reply.json()?;
    Some(Session {
        token: json.get("access_token")?.as_str()?.to_owned(),
        tenant,
        employee_id: json
            .get("employee_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .or_else(|| credential.employee_id.clone()),
        // Unique per goose user, so names built from it never collide between users.
        counter: ctx.global_user(user.weighted_users_index) as u64 * 1_000_000,
        prober: persona == Persona::Prober,
        ..Session::default()
    })
}
