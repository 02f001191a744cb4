//! Fault schedules: which fault hits which target, when, and for how long.
//!
//! Written in scenario files as a flat table per fault:
//!
//! ```toml
//! [[faults]]
//! type = "latency"      # any fault type, with its attributes
//! latency = 200
//! target = "postgres"
//! at = "30s"            # start offset from the beginning of the run
//! duration = "20s"
//! ```

use crate::attrs::Attrs;
use crate::fault::{Fault, FaultError, FieldProblem, LifecycleAction, Target};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use toml::{Table, Value};

/// Why a schedule is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// Fault number `index` (0-based, in file order) does not parse.
    #[error("fault #{index}")]
    Fault {
        /// Position of the fault in the schedule.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: FaultError,
    },
    /// A fault that must last a while was given a zero duration.
    #[error("fault #{index} ({fault}): duration must be greater than zero")]
    ZeroDuration {
        /// Position of the fault in the schedule.
        index: usize,
        /// Its type name.
        fault: &'static str,
    },
    /// A fault starts at or after the end of the run, so it would never be injected.
    #[error("fault #{index} ({fault}) starts at {start:?}, not before the run ends at {run:?}")]
    StartsAfterRun {
        /// Position of the fault in the schedule.
        index: usize,
        /// Its type name.
        fault: &'static str,
        /// Its start offset.
        start: Duration,
        /// The run length it was checked against.
        run: Duration,
    },
}

/// One fault at a planned time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Table", into = "Table")]
pub struct ScheduledFault {
    /// What to inject.
    pub fault: Fault,
    /// Where to inject it.
    pub target: Target,
    /// When, counted from the start of the run.
    pub start_offset: Duration,
    /// How long until it is removed (zero for instantaneous `kill`/`restart`).
    pub duration: Duration,
}

impl ScheduledFault {
    /// When the fault is removed (saturating).
    pub fn end_offset(&self) -> Duration {
        self.start_offset.saturating_add(self.duration)
    }

    /// Parses the flat table form: the fault's own fields plus `target`, `at` (alias
    /// `start_offset`) and `duration`. Durations are humantime strings or whole seconds.
    pub fn from_table(mut table: Table) -> Result<Self, FaultError> {
        let fault_name = match table.get("type") {
            Some(Value::String(s)) => s.clone(),
            _ => "fault".to_owned(),
        };
        // Take the schedule fields out first so the fault parser sees only its own fields.
        let mut own = Table::new();
        for key in ["target", "at", "start_offset", "duration"] {
            if let Some(v) = table.remove(key) {
                own.insert(key.to_owned(), v);
            }
        }
        let mut a = Attrs::new(fault_name, own);
        let target = match a.string("target")? {
            None => return Err(missing(&table, "target")),
            Some(s) => s.parse().map_err(|p| a.invalid("target", p))?,
        };
        let start_offset = match (a.duration("at")?, a.duration("start_offset")?) {
            (Some(_), Some(_)) => return Err(a.invalid("start_offset", FieldProblem::Duplicate)),
            (at, so) => at.or(so).unwrap_or(Duration::ZERO),
        };
        let duration = a.duration("duration")?.unwrap_or(Duration::ZERO);
        a.finish()?;
        Ok(Self {
            fault: Fault::from_table(table)?,
            target,
            start_offset,
            duration,
        })
    }

    /// The flat table form, the inverse of [`ScheduledFault::from_table`].
    pub fn to_table(&self) -> Table {
        let mut t = self.fault.to_table();
        let target = match self.target {
            Target::Postgres => "postgres",
            Target::Redis => "redis",
            Target::Service => "service",
        };
        t.insert("target".into(), Value::String(target.into()));
        let human = |d: Duration| Value::String(humantime::format_duration(d).to_string());
        t.insert("at".into(), human(self.start_offset));
        t.insert("duration".into(), human(self.duration));
        t
    }

    /// Whether this kind of fault needs a non-zero duration to mean anything.
    fn needs_duration(&self) -> bool {
        !matches!(
            self.fault,
            Fault::Lifecycle(LifecycleAction::Kill | LifecycleAction::Restart)
        )
    }
}

fn missing(table: &Table, field: &str) -> FaultError {
    let fault = match table.get("type") {
        Some(Value::String(s)) => s.clone(),
        _ => "fault".to_owned(),
    };
    FaultError::MissingField {
        fault,
        field: field.to_owned(),
    }
}

impl TryFrom<Table> for ScheduledFault {
    type Error = FaultError;
    fn try_from(t: Table) -> Result<Self, Self::Error> {
        Self::from_table(t)
    }
}

impl From<ScheduledFault> for Table {
    fn from(f: ScheduledFault) -> Table {
        f.to_table()
    }
}

/// Whether an event injects or removes its fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// Remove the fault. Sorted first, so a fault ending exactly when another starts is removed
    /// before the next one goes in.
    Remove,
    /// Inject the fault.
    Inject,
}

/// One step the chaos runner executes at offset `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleEvent {
    /// Offset from the start of the run.
    pub at: Duration,
    /// Inject or remove.
    pub kind: EventKind,
    /// Index into [`Schedule::faults`].
    pub fault: usize,
}

/// A validated list of scheduled faults. Overlaps are allowed (faults stack).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<ScheduledFault>", into = "Vec<ScheduledFault>")]
pub struct Schedule {
    faults: Vec<ScheduledFault>,
}

impl Schedule {
    /// Validates `faults` (attributes in range, durations present where needed).
    pub fn new(faults: Vec<ScheduledFault>) -> Result<Self, ScheduleError> {
        for (index, f) in faults.iter().enumerate() {
            if let Fault::Toxic(t) = &f.fault {
                t.validate()
                    .map_err(|source| ScheduleError::Fault { index, source })?;
            }
            if f.needs_duration() && f.duration.is_zero() {
                return Err(ScheduleError::ZeroDuration {
                    index,
                    fault: f.fault.type_name(),
                });
            }
        }
        Ok(Self { faults })
    }

    /// Parses a list of flat tables (the `[[faults]]` array of a scenario file).
    pub fn from_tables(tables: Vec<Table>) -> Result<Self, ScheduleError> {
        let faults = tables
            .into_iter()
            .enumerate()
            .map(|(index, t)| {
                ScheduledFault::from_table(t)
                    .map_err(|source| ScheduleError::Fault { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(faults)
    }

    /// The faults, in the order given.
    pub fn faults(&self) -> &[ScheduledFault] {
        &self.faults
    }

    /// True when no fault is scheduled.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Checks that every fault starts before the run ends (faults may run past the end; the
    /// runner removes them at shutdown).
    pub fn check_fits(&self, run_length: Duration) -> Result<(), ScheduleError> {
        match self
            .faults
            .iter()
            .enumerate()
            .find(|(_, f)| f.start_offset >= run_length)
        {
            Some((index, f)) => Err(ScheduleError::StartsAfterRun {
                index,
                fault: f.fault.type_name(),
                start: f.start_offset,
                run: run_length,
            }),
            None => Ok(()),
        }
    }

    /// Inject/remove steps in time order (instantaneous faults have no remove step).
    pub fn events(&self) -> Vec<ScheduleEvent> {
        let mut events = Vec::with_capacity(self.faults.len() * 2);
        for (i, f) in self.faults.iter().enumerate() {
            events.push(ScheduleEvent {
                at: f.start_offset,
                kind: EventKind::Inject,
                fault: i,
            });
            if f.needs_duration() {
                events.push(ScheduleEvent {
                    at: f.end_offset(),
                    kind: EventKind::Remove,
                    fault: i,
                });
            }
        }
        events.sort_by_key(|e| (e.at, e.kind, e.fault));
        events
    }

    /// Active intervals `[start, end)`; instantaneous faults count as one-second disruptions so
    /// that phases and recovery are still measured around them.
    pub fn active_windows(&self) -> Vec<(Duration, Duration)> {
        self.faults
            .iter()
            .map(|f| {
                let len = if f.duration.is_zero() {
                    Duration::from_secs(1)
                } else {
                    f.duration
                };
                (f.start_offset, f.start_offset.saturating_add(len))
            })
            .collect()
    }
}

impl TryFrom<Vec<ScheduledFault>> for Schedule {
    type Error = ScheduleError;
    fn try_from(v: Vec<ScheduledFault>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Schedule> for Vec<ScheduledFault> {
    fn from(s: Schedule) -> Self {
        s.faults
    }
}
