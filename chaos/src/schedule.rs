//! A scenario's fault schedule: its `[[chaos]]` entries, typed.
//!
//! ```toml
//! [[chaos]]
//! fault = "latency"                            # any fault type
//! target = "postgres"                          # postgres, redis or service
//! start = "10s"                                # offset from the start of load
//! duration = "8s"
//! attributes = { latency = 200, jitter = 50 }  # the fault's own fields
//! ```
//!
//! The scenarios crate reads an entry with its spans, checks `start` and `duration` against
//! the stages, and calls [`ScheduledFault::parse`] for the parts this crate gives meaning to;
//! the runner only executes the result. An [`EntryError`] says which part of the entry is
//! wrong ([`EntryError::field`]), so the spec can point at that part's line.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use toml::Table;

use crate::fault::{Fault, FaultError, FieldProblem, LifecycleAction, Target};

/// Why a `[[chaos]]` entry does not describe a fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntryError {
    /// `target` names nothing a fault can hit.
    #[error("target {0}")]
    Target(FieldProblem),
    /// `fault` or one of its attributes is wrong.
    #[error(transparent)]
    Fault(FaultError),
}

/// The part of a `[[chaos]]` entry an [`EntryError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryField<'a> {
    /// The fault's type name.
    Fault,
    /// What it hits.
    Target,
    /// One key of `attributes` (possibly absent: a required attribute that is missing).
    Attribute(&'a str),
}

impl EntryError {
    /// Which part of the entry is wrong.
    pub fn field(&self) -> EntryField<'_> {
        match self {
            EntryError::Target(_) => EntryField::Target,
            EntryError::Fault(
                FaultError::MissingType | FaultError::UnknownType(_) | FaultError::NotAToxic(_),
            ) => EntryField::Fault,
            EntryError::Fault(
                FaultError::MissingField { field, .. }
                | FaultError::InvalidField { field, .. }
                | FaultError::UnknownField { field, .. },
            ) => EntryField::Attribute(field),
        }
    }
}

/// One fault of a schedule: what, where, when and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledFault {
    /// What to inject.
    pub fault: Fault,
    /// Where.
    pub target: Target,
    /// Offset from the start of load.
    pub start: Duration,
    /// How long until it is removed.
    pub duration: Duration,
    /// The attributes as written (`latency` → `200`), for the report and the timeline: what
    /// the user asked for, without the defaults the typed fault fills in.
    pub attributes: BTreeMap<String, String>,
}

impl ScheduledFault {
    /// Reads an entry's `fault`, `target` and `attributes`; `start` and `duration` are checked
    /// by the caller, which knows the run's length. The target is read first, so an entry
    /// wrong in both places is reported for its target.
    pub fn parse(
        fault: &str,
        target: &str,
        attributes: Table,
        start: Duration,
        duration: Duration,
    ) -> Result<Self, EntryError> {
        let target: Target = target.parse().map_err(EntryError::Target)?;
        let written = attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string().trim_matches('"').to_owned()))
            .collect();
        let fault = Fault::parse(fault, attributes).map_err(EntryError::Fault)?;
        // Two faults act on one dependency's contents, so only that target makes sense.
        let only = match fault {
            // Redis keeps its data in memory and the service none at all.
            Fault::DiskFill(_) => Some((
                Target::Postgres,
                "postgres (disk_fill fills the filesystem of Postgres's data)",
            )),
            Fault::JobFlood(_) => Some((
                Target::Redis,
                "redis (job_flood fills the payroll queue, which is in Redis)",
            )),
            _ => None,
        };
        if let Some((only, expected)) = only
            && target != only
        {
            return Err(EntryError::Target(FieldProblem::UnknownValue {
                value: target.as_str().to_owned(),
                expected,
            }));
        }
        Ok(Self {
            fault,
            target,
            start,
            duration,
            attributes: written,
        })
    }

    /// `<fault>-<target>-<index>`: the toxic's name on the proxy and the window's name in the
    /// report; the index keeps two equal faults apart.
    pub fn name(&self, index: usize) -> String {
        format!("{}-{}-{index}", self.fault, self.target)
    }

    /// Whether the fault takes its target away and starts it again, so the target's state
    /// (its counters, its connections) begins anew; a pause only freezes it.
    pub fn restarts_target(&self) -> bool {
        matches!(self.fault, Fault::Lifecycle(a) if a != LifecycleAction::Pause)
    }
}

impl fmt::Display for ScheduledFault {
    /// The timeline's words: `latency (jitter=50, latency=200) on postgres`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fault)?;
        if !self.attributes.is_empty() {
            let attrs: Vec<String> = self
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " ({})", attrs.join(", "))?;
        }
        write!(f, " on {}", self.target)
    }
}
