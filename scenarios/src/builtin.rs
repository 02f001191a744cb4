//! The built-in scenarios, embedded in the binary from `scenarios/builtin/*.toml`.
//!
//! They are ordinary spec files — the same parser reads them as a user's own file — so the
//! TOML in that folder is also the best example of the format.

use crate::spec::ScenarioSpec;

/// Name and embedded text of every built-in, in the order `gauntlet list` shows them.
const BUILTINS: [(&str, &str); 21] = [
    ("smoke", include_str!("../builtin/smoke.toml")),
    ("load", include_str!("../builtin/load.toml")),
    ("stress", include_str!("../builtin/stress.toml")),
    ("spike", include_str!("../builtin/spike.toml")),
    ("endurance", include_str!("../builtin/endurance.toml")),
    // `load` at production-sized tenants: what the data's volume costs.
    ("volume", include_str!("../builtin/volume.toml")),
    // `stress` with the database a network hop away: what the pool's size costs.
    (
        "stress-remote-db",
        include_str!("../builtin/stress-remote-db.toml"),
    ),
    // The open model: arrival-rate stages.
    ("stress-rate", include_str!("../builtin/stress-rate.toml")),
    ("spike-rate", include_str!("../builtin/spike-rate.toml")),
    // Chaos experiments: steady load with one fault in the middle.
    ("pg-latency", include_str!("../builtin/pg-latency.toml")),
    ("pg-kill", include_str!("../builtin/pg-kill.toml")),
    ("redis-down", include_str!("../builtin/redis-down.toml")),
    ("redis-pause", include_str!("../builtin/redis-pause.toml")),
    ("pg-reset", include_str!("../builtin/pg-reset.toml")),
    ("service-kill", include_str!("../builtin/service-kill.toml")),
    ("durability", include_str!("../builtin/durability.toml")),
    // A drill: backups under load, a disaster, a restore; RTO and RPO measured.
    (
        "backup-restore",
        include_str!("../builtin/backup-restore.toml"),
    ),
    // Alert experiments: each drives one of the seed's alerts over its threshold.
    (
        "pg-pool-exhaustion",
        include_str!("../builtin/pg-pool-exhaustion.toml"),
    ),
    ("tenant-flood", include_str!("../builtin/tenant-flood.toml")),
    ("pg-disk-fill", include_str!("../builtin/pg-disk-fill.toml")),
    (
        "payroll-backlog",
        include_str!("../builtin/payroll-backlog.toml"),
    ),
];

/// Names of the built-in scenarios.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}

/// The TOML text of a built-in scenario, if `name` is one.
pub fn source(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// What error messages call a built-in: its path inside this crate.
pub fn origin(name: &str) -> String {
    format!("builtin/{name}.toml")
}

/// Name and one-line description of each built-in scenario.
///
/// Built-ins are tested to parse; should one ever fail, its entry says so instead of
/// panicking, because listing must not crash the CLI.
pub fn list() -> Vec<(&'static str, String)> {
    BUILTINS
        .iter()
        .map(|(name, text)| {
            let description = match ScenarioSpec::from_toml_str(text, &origin(name)) {
                Ok(spec) => spec.description().to_owned(),
                Err(e) => format!("(invalid built-in: {e})"),
            };
            (*name, description)
        })
        .collect()
}
