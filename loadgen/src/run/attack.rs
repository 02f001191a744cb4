//! The goose attack, embedded: configured in code (never from our process arguments), with
//! the defaults goose would otherwise pick for a CLI user overridden.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gauntlet_scenarios::LoadPlan;
use gauntlet_scenarios::personas::{self, Ctx, PersonaError, arrivals};
use gauntlet_scenarios::spec::StageKind;
use goose::config::GooseConfiguration;
use goose::prelude::{GooseAttack, GooseDefault, GooseDefaultType, GooseError};

/// Client timeout of one request; a slower answer is recorded as a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the attack could not run.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    /// goose refused its configuration or failed. Its Display omits which option and Debug
    /// names it, so the message shows the Debug text, and the field is deliberately not a
    /// `#[from]`/`#[source]`: anyhow would print goose's vaguer Display after it.
    #[error("goose: {0:?}")]
    Goose(GooseError),
    /// Building the persona scenarios failed.
    #[error(transparent)]
    Personas(#[from] PersonaError),
    /// No persona can run with this fixture.
    #[error("no persona has a non-zero share and an account to log in with")]
    NoPersonas,
}

impl From<GooseError> for AttackError {
    fn from(e: GooseError) -> Self {
        Self::Goose(e)
    }
}

/// goose's `--test-plan` for the stages: whole seconds (goose's resolution), each stage at
/// least one second; a hold or spike jumps to its users at once, then holds; the plan ends by
/// stopping everyone.
pub fn test_plan(plan: &LoadPlan) -> String {
    if let Some(open) = plan.arrival_plan() {
        // Open model: the whole pool at once, held until the schedule is surely over (it
        // starts once the pool has logged in, at most `POOL_READY_WAIT` after the first
        // login); users idle at the gate once it ends, and goose then stops them.
        let grace = arrivals::POOL_READY_WAIT.as_secs() + 1;
        let pool = open.pool().max(1);
        return format!("{pool},0;{pool},{};0,0", open.end().as_secs() + grace);
    }
    let mut steps = Vec::with_capacity(plan.stages.len() * 2 + 1);
    for stage in &plan.stages {
        let secs = stage_secs(stage.duration);
        let jumps = matches!(stage.kind, StageKind::Hold | StageKind::Spike)
            && stage.from_users != stage.users;
        if jumps {
            steps.push(format!("{},0", stage.users));
        }
        steps.push(format!("{},{secs}", stage.users));
    }
    steps.push("0,0".to_owned());
    steps.join(";")
}

/// A stage's length as goose will run it.
pub fn stage_secs(d: Duration) -> u64 {
    (d.as_secs_f64().round() as u64).max(1)
}

/// Runs the attack to completion (or until the killswitch) and returns goose's own request
/// counts per request name, for the cross-check.
pub async fn run(
    ctx: &Arc<Ctx>,
    plan: &LoadPlan,
    base_url: &str,
) -> Result<BTreeMap<String, u64>, AttackError> {
    // Open model: an action starts when the schedule says, never after a think time.
    let think = match plan.arrival_plan() {
        Some(_) => (Duration::ZERO, Duration::ZERO),
        None => (plan.think_time.min, plan.think_time.max),
    };
    let scenarios = personas::scenarios(ctx, &plan.personas, think)?;
    if scenarios.is_empty() {
        return Err(AttackError::NoPersonas);
    }
    let client = goose::client::GooseClientBuilder::new()
        .without_cookies()
        .timeout(REQUEST_TIMEOUT);
    let mut attack = GooseAttack::initialize_with_config(GooseConfiguration::default())?
        .set_client_builder_without_cookies(client)?
        .test_start(personas::test_start(ctx, super::quiet_goose_logs))
        .test_stop(personas::test_stop(ctx));
    for scenario in scenarios {
        attack = attack.register_scenario(scenario);
    }
    let attack = configure(attack, &test_plan(plan), base_url)?;
    let metrics = {
        let _muted = StdoutMuted::new();
        attack.execute().await?
    };
    Ok(metrics
        .requests
        .values()
        .map(|a| (a.path.clone(), (a.success_count + a.fail_count) as u64))
        .fold(BTreeMap::new(), |mut m, (k, v)| {
            *m.entry(k).or_default() += v;
            m
        }))
}

/// The defaults that matter for an embedded attack.
fn configure(attack: GooseAttack, plan: &str, host: &str) -> Result<GooseAttack, GooseError> {
    let a = *attack.set_default(GooseDefault::Host, host)?;
    let a = *a.set_default(GooseDefault::TestPlan, plan)?;
    // No telnet controller: it binds a fixed port (5116) and would let anyone on the host
    // steer the run. (The WebSocket controller is off unless asked for.)
    let a = *a.set_default(GooseDefault::NoTelnet, true)?;
    // goose's own report printing and error summary would interleave with ours.
    let a = *a.set_default(GooseDefault::NoPrintMetrics, true)?;
    let a = *a.set_default(GooseDefault::NoErrorSummary, true)?;
    // Only goose's request counts are used (cross-check); skip the rest of its bookkeeping.
    let a = *a.set_default(GooseDefault::NoTransactionMetrics, true)?;
    let a = *a.set_default(GooseDefault::NoScenarioMetrics, true)?;
    let a = *a.set_default(GooseDefault::Quiet, 1usize)?;
    let secs = REQUEST_TIMEOUT.as_secs().to_string();
    Ok(*a.set_default(GooseDefault::Timeout, secs.as_str())?)
}

/// goose prints "N users launched." with `println!` whatever it is configured to show, and our
/// stdout carries the run summary (read by scripts with `--quiet`). While an attack runs, file
/// descriptor 1 points at /dev/null; our own progress goes to stderr meanwhile. Attacks can
/// overlap in one process (benches), so the real stdout is saved by the first guard and put
/// back by the last.
struct StdoutMuted;

/// How many guards are alive, and the real stdout while any is.
static MUTED: std::sync::Mutex<(usize, Option<std::os::fd::OwnedFd>)> =
    std::sync::Mutex::new((0, None));

impl StdoutMuted {
    fn new() -> Self {
        use std::io::Write;
        let mut muted = MUTED.lock().unwrap_or_else(|p| p.into_inner());
        if muted.0 == 0 {
            let _ = std::io::stdout().flush();
            let saved = nix::unistd::dup(std::io::stdout()).ok();
            let null = std::fs::File::options().write(true).open("/dev/null");
            if let (Some(saved), Ok(null)) = (saved, null)
                && nix::unistd::dup2_stdout(&null).is_ok()
            {
                muted.1 = Some(saved);
            }
        }
        muted.0 += 1;
        StdoutMuted
    }
}

impl Drop for StdoutMuted {
    fn drop(&mut self) {
        use std::io::Write;
        let mut muted = MUTED.lock().unwrap_or_else(|p| p.into_inner());
        muted.0 -= 1;
        if muted.0 == 0 {
            let _ = std::io::stdout().flush();
            if let Some(saved) = muted.1.take() {
                let _ = nix::unistd::dup2_stdout(&saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_jump_ramps_glide_and_everyone_stops() {
        let spec = gauntlet_scenarios::ScenarioSpec::load("smoke").unwrap();
        let plan = spec
            .plan(gauntlet_scenarios::ProfileName::Small, 1.0)
            .unwrap();
        assert_eq!(test_plan(&plan), "3,5;3,15;0,0");
        let spike = gauntlet_scenarios::ScenarioSpec::load("spike").unwrap();
        let plan = spike
            .plan(gauntlet_scenarios::ProfileName::Small, 0.01)
            .unwrap();
        let text = test_plan(&plan);
        assert!(text.ends_with(";0,0"), "{text}");
        for step in text.split(';') {
            let (users, secs) = step.split_once(',').unwrap();
            assert!(
                users.parse::<u32>().is_ok() && secs.parse::<u64>().is_ok(),
                "{step}"
            );
        }
    }
}
