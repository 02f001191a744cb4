//! Faults that act on a dependency's contents rather than its process or its connections:
//! `disk_fill` on the filesystem holding Postgres's data, `job_flood` on the payroll queue in
//! Redis. The runner executes them; this module only says what they are.

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::attrs::Attrs;
use crate::fault::{FaultError, FieldProblem};

/// `job_flood`: payroll jobs arriving faster than the service's workers drain them, as from a
/// month-end batch or a producer stuck retrying: the queue is kept at `depth` jobs for the
/// fault's duration, then left to drain.
///
/// The jobs are copies of the job of a payroll run that is already complete, which the queue's
/// design makes harmless (a completed run is a no-op for a worker, and payslips are written
/// with `ON CONFLICT DO NOTHING`): the fault loads the workers and the queue, not the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFlood {
    /// Jobs kept waiting (default 1500: past the seed's 1000-job alert).
    pub depth: u32,
}

impl JobFlood {
    /// Used when `depth` is not written.
    pub const DEFAULT_DEPTH: u32 = 1500;
    /// The most `depth` may ask for: a flood must stay bounded.
    pub const MAX_DEPTH: u32 = 100_000;
}

/// `disk_fill`: how full the filesystem holding Postgres's data is made while the fault lasts.
///
/// A full disk is the outage that arrives slowly and is noticed late, which is why the seed
/// alerts on 85 %; the fault lets a run check that the alert fires before Postgres stops
/// writing. The run gives Postgres a filesystem of its own with a known size, so filling it
/// touches nothing else on the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFill {
    /// Percent of the filesystem in use once filled (1–99; default 90). Already fuller: the
    /// fault writes nothing.
    pub percent: u8,
}

impl DiskFill {
    /// Used when `percent` is not written: past the seed's 85 % alert, short of a full disk.
    pub const DEFAULT_PERCENT: u8 = 90;
}

impl DiskFill {
    pub(crate) fn parse(a: &mut Attrs) -> Result<Self, FaultError> {
        let percent = a.u64_or("percent", Some(Self::DEFAULT_PERCENT.into()))?;
        match u8::try_from(percent) {
            Ok(p @ 1..=99) => Ok(DiskFill { percent: p }),
            _ => Err(a.invalid("percent", FieldProblem::OutOfRange("between 1 and 99"))),
        }
    }

    pub(crate) fn to_table(self) -> Table {
        let mut t = Table::new();
        t.insert("type".into(), Value::String("disk_fill".into()));
        t.insert("percent".into(), Value::Integer(self.percent.into()));
        t
    }
}

impl JobFlood {
    pub(crate) fn parse(a: &mut Attrs) -> Result<Self, FaultError> {
        let depth = a.u64_or("depth", Some(Self::DEFAULT_DEPTH.into()))?;
        match u32::try_from(depth) {
            Ok(d @ 1..=Self::MAX_DEPTH) => Ok(JobFlood { depth: d }),
            _ => Err(a.invalid("depth", FieldProblem::OutOfRange("between 1 and 100000"))),
        }
    }

    pub(crate) fn to_table(self) -> Table {
        let mut t = Table::new();
        t.insert("type".into(), Value::String("job_flood".into()));
        t.insert("depth".into(), Value::Integer(self.depth.into()));
        t
    }
}
