//! The fault vocabulary: network toxics (Toxiproxy names and attributes, `toxic.rs`), `down`,
//! faults on a dependency's contents (`contents.rs`), and the lifecycle faults that are
//! executed by the provisioning layer.
//!
//! Values are typed (durations are `Duration`, probabilities are [`Toxicity`]); the wire shape
//! is a flat table `{ type = "latency", latency = 100, jitter = 10, stream = "downstream" }`
//! with Toxiproxy's units (milliseconds, KB/s, bytes, microseconds for `slicer.delay`). The
//! Toxiproxy API shape with a nested `attributes` table is accepted too.

use crate::attrs::Attrs;
pub use crate::contents::{DiskFill, JobFlood};
pub use crate::toxic::{Direction, Toxic, ToxicKind, Toxicity};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use toml::{Table, Value};

/// Why a fault description could not be turned into a [`Fault`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// The table has no `type` field, so we cannot know which fault is meant.
    #[error("fault is missing the `type` field")]
    MissingType,
    /// `type` names no fault we know.
    #[error("unknown fault type `{0}`")]
    UnknownType(String),
    /// A toxic was expected but the table describes `down` or a lifecycle fault.
    #[error("`{0}` is not a network toxic")]
    NotAToxic(String),
    /// A required attribute is absent.
    #[error("{fault}: missing field `{field}`")]
    MissingField {
        /// The fault type being parsed.
        fault: String,
        /// The absent field.
        field: String,
    },
    /// A field is present but its value is unusable.
    #[error("{fault}: field `{field}` {problem}")]
    InvalidField {
        /// The fault type being parsed.
        fault: String,
        /// The offending field.
        field: String,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// A field this fault type does not have (usually a typo).
    #[error("{fault}: unknown field `{field}`")]
    UnknownField {
        /// The fault type being parsed.
        fault: String,
        /// The unexpected field.
        field: String,
    },
}

/// What is wrong with one field's value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldProblem {
    /// The value has the wrong TOML type.
    #[error("must be {expected}, found {found}")]
    WrongType {
        /// What the field needs.
        expected: &'static str,
        /// The TOML type that was given.
        found: &'static str,
    },
    /// A negative number where only non-negative ones make sense.
    #[error("must not be negative")]
    Negative,
    /// A number outside its allowed range.
    #[error("must be {0}")]
    OutOfRange(&'static str),
    /// A string that is not one of the allowed names.
    #[error("has unknown value `{value}` (expected one of: {expected})")]
    UnknownValue {
        /// What was given.
        value: String,
        /// The allowed names, comma-separated.
        expected: &'static str,
    },
    /// The same field appears both flat and inside `attributes`.
    #[error("is given twice")]
    Duplicate,
}

/// A lifecycle fault executed on a dependency process or container (not by the proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// SIGKILL: no shutdown, no flush.
    Kill,
    /// Orderly stop for the fault's duration, then start again.
    Stop,
    /// Stop and start immediately.
    Restart,
    /// Freeze the whole server (process group / cgroup freezer) for the fault's duration.
    Pause,
}

/// What a scheduled fault is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The Postgres server (or the proxy in front of it, for network faults).
    Postgres,
    /// The Redis server (or its proxy).
    Redis,
    /// The service under test.
    Service,
}

impl Target {
    /// The name as written in scenario files and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Postgres => "postgres",
            Target::Redis => "redis",
            Target::Service => "service",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Target {
    type Err = FieldProblem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "postgres" => Ok(Target::Postgres),
            "redis" => Ok(Target::Redis),
            "service" => Ok(Target::Service),
            _ => Err(FieldProblem::UnknownValue {
                value: s.to_owned(),
                expected: "postgres, redis, service",
            }),
        }
    }
}

/// Any fault Gauntlet can inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Table", into = "Table")]
pub enum Fault {
    /// A network toxic applied by a [`crate::FaultProxy`].
    Toxic(Toxic),
    /// The proxy refuses new connections and cuts existing ones.
    Down,
    /// A process/container lifecycle fault.
    Lifecycle(LifecycleAction),
    /// The filesystem holding the target's data filled to a share of its size, then freed.
    DiskFill(DiskFill),
    /// The payroll queue kept at a depth by a producer faster than the workers.
    JobFlood(JobFlood),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

impl Fault {
    /// The `type` name this fault is written with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Fault::Toxic(t) => t.kind.type_name(),
            Fault::Down => "down",
            Fault::Lifecycle(LifecycleAction::Kill) => "kill",
            Fault::Lifecycle(LifecycleAction::Stop) => "stop",
            Fault::Lifecycle(LifecycleAction::Restart) => "restart",
            Fault::Lifecycle(LifecycleAction::Pause) => "pause",
            Fault::DiskFill(_) => "disk_fill",
            Fault::JobFlood(_) => "job_flood",
        }
    }

    /// Parses `{ type = "...", ...attributes }`; every error names the bad field.
    pub fn from_table(mut table: Table) -> Result<Self, FaultError> {
        let kind = match table.remove("type") {
            None => return Err(FaultError::MissingType),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(FaultError::InvalidField {
                    fault: "fault".into(),
                    field: "type".into(),
                    problem: FieldProblem::WrongType {
                        expected: "a string",
                        found: other.type_str(),
                    },
                });
            }
        };
        Self::parse(&kind, table)
    }

    /// Parses fault `kind` (`latency`, `down`, `kill`, ...) with its `attributes` table, the
    /// shape of a scenario's `[[chaos]]` entry; every error names the bad field.
    pub fn parse(kind: &str, attributes: Table) -> Result<Self, FaultError> {
        let mut a = Attrs::new(kind, attributes);
        // Toxiproxy's API carries a `name`; the proxy keys toxics by its own name argument.
        let _ = a.take("name");
        let fault = match kind {
            "down" => Fault::Down,
            "kill" => Fault::Lifecycle(LifecycleAction::Kill),
            "stop" => Fault::Lifecycle(LifecycleAction::Stop),
            "restart" => Fault::Lifecycle(LifecycleAction::Restart),
            "pause" => Fault::Lifecycle(LifecycleAction::Pause),
            "disk_fill" => Fault::DiskFill(DiskFill::parse(&mut a)?),
            "job_flood" => Fault::JobFlood(JobFlood::parse(&mut a)?),
            _ => Fault::Toxic(crate::attrs::parse_toxic(kind, &mut a)?),
        };
        a.finish()?;
        Ok(fault)
    }

    /// The flat table form, the inverse of [`Fault::from_table`].
    pub fn to_table(&self) -> Table {
        match self {
            Fault::Toxic(t) => t.to_table(),
            Fault::DiskFill(d) => d.to_table(),
            Fault::JobFlood(j) => j.to_table(),
            other => {
                let mut t = Table::new();
                t.insert("type".into(), Value::String(other.type_name().into()));
                t
            }
        }
    }
}

impl TryFrom<Table> for Fault {
    type Error = FaultError;
    fn try_from(t: Table) -> Result<Self, Self::Error> {
        Self::from_table(t)
    }
}

impl From<Fault> for Table {
    fn from(f: Fault) -> Table {
        f.to_table()
    }
}
