//! Network toxics: what a fault proxy does to the bytes of a connection, with Toxiproxy's
//! names, attributes and units (milliseconds, KB/s, bytes, microseconds for `slicer.delay`).

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::fault::{Fault, FaultError, FieldProblem};

/// Which direction of a proxied connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client → dependency (requests).
    Upstream,
    /// Dependency → client (responses). Toxiproxy's default.
    #[default]
    Downstream,
}

/// Probability in `0.0..=1.0` that a toxic applies to a given connection.
///
/// The constructor is the only way to get one, so a stored value is always in range.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Toxicity(f64);

impl Toxicity {
    /// Always applies.
    pub const ALWAYS: Toxicity = Toxicity(1.0);
    /// Never applies.
    pub const NEVER: Toxicity = Toxicity(0.0);

    /// Validates `p` as a probability.
    pub fn new(p: f64) -> Result<Self, FieldProblem> {
        if (0.0..=1.0).contains(&p) {
            Ok(Self(p))
        } else {
            Err(FieldProblem::OutOfRange("between 0.0 and 1.0"))
        }
    }

    /// The probability as a plain number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Toxicity {
    fn default() -> Self {
        Self::ALWAYS
    }
}

impl TryFrom<f64> for Toxicity {
    type Error = FieldProblem;
    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Self::new(p)
    }
}

impl From<Toxicity> for f64 {
    fn from(t: Toxicity) -> f64 {
        t.0
    }
}

/// One network fault and its attributes, in Toxiproxy's vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub enum ToxicKind {
    /// Delay every chunk by `latency ± jitter`.
    Latency {
        /// Added delay (Toxiproxy: `latency`, ms).
        latency: Duration,
        /// Uniform random spread around `latency` (Toxiproxy: `jitter`, ms).
        jitter: Duration,
    },
    /// Limit throughput to `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy).
    Bandwidth {
        /// KB per second, > 0.
        rate: u64,
    },
    /// Stop all data; close the connection after `timeout`, or hold it forever when zero
    /// (data then flows again once the toxic is removed).
    Timeout {
        /// Time until the connection is closed (Toxiproxy: `timeout`, ms; 0 = never).
        timeout: Duration,
    },
    /// Let data pass for `timeout`, then reset the connection (RST, via `SO_LINGER` 0).
    ResetPeer {
        /// Time until the reset (Toxiproxy: `timeout`, ms).
        timeout: Duration,
    },
    /// Cut data into small writes of `average_size ± size_variation` bytes, `delay` apart.
    Slicer {
        /// Mean slice size in bytes, > 0.
        average_size: u64,
        /// Uniform spread of the slice size, < `average_size`.
        size_variation: u64,
        /// Pause between slices (Toxiproxy: `delay`, µs).
        delay: Duration,
    },
    /// Close the connection once `bytes` have passed in this direction.
    LimitData {
        /// Bytes allowed through before the close.
        bytes: u64,
    },
    /// Delay the propagation of a close (EOF) by `delay`.
    SlowClose {
        /// How long the close is held back (Toxiproxy: `delay`, ms).
        delay: Duration,
    },
}

impl ToxicKind {
    /// The Toxiproxy type name (`latency`, `bandwidth`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Latency { .. } => "latency",
            ToxicKind::Bandwidth { .. } => "bandwidth",
            ToxicKind::Timeout { .. } => "timeout",
            ToxicKind::ResetPeer { .. } => "reset_peer",
            ToxicKind::Slicer { .. } => "slicer",
            ToxicKind::LimitData { .. } => "limit_data",
            ToxicKind::SlowClose { .. } => "slow_close",
        }
    }
}

/// A toxic: what it does, which direction, and how likely it is to hit a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Table", into = "Table")]
pub struct Toxic {
    /// The effect and its attributes.
    pub kind: ToxicKind,
    /// The direction it acts on.
    pub stream: Direction,
    /// Per-connection probability of applying.
    pub toxicity: Toxicity,
}

impl Toxic {
    /// A toxic on the downstream direction that hits every connection.
    pub fn new(kind: ToxicKind) -> Self {
        Self {
            kind,
            stream: Direction::Downstream,
            toxicity: Toxicity::ALWAYS,
        }
    }

    /// Same toxic on another direction.
    pub fn on(mut self, stream: Direction) -> Self {
        self.stream = stream;
        self
    }

    /// Same toxic with another probability.
    pub fn with_toxicity(mut self, toxicity: Toxicity) -> Self {
        self.toxicity = toxicity;
        self
    }

    /// Checks the cross-field rules the types cannot express (rate > 0, slice sizes).
    pub fn validate(&self) -> Result<(), FaultError> {
        let bad = |field: &str, rule: &'static str| FaultError::InvalidField {
            fault: self.kind.type_name().to_owned(),
            field: field.to_owned(),
            problem: FieldProblem::OutOfRange(rule),
        };
        match self.kind {
            ToxicKind::Bandwidth { rate: 0 } => Err(bad("rate", "greater than 0")),
            ToxicKind::Slicer {
                average_size: 0, ..
            } => Err(bad("average_size", "greater than 0")),
            ToxicKind::Slicer {
                average_size,
                size_variation,
                ..
            } if size_variation >= average_size => {
                Err(bad("size_variation", "smaller than average_size"))
            }
            _ => Ok(()),
        }
    }

    /// Parses the flat (or Toxiproxy `attributes`) table form.
    pub fn from_table(table: Table) -> Result<Self, FaultError> {
        match Fault::from_table(table)? {
            Fault::Toxic(t) => Ok(t),
            other => Err(FaultError::NotAToxic(other.type_name().to_owned())),
        }
    }

    /// The flat table form, the inverse of [`Toxic::from_table`].
    pub fn to_table(&self) -> Table {
        let mut t = Table::new();
        let ms = |d: Duration| Value::Integer(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        t.insert("type".into(), Value::String(self.kind.type_name().into()));
        match &self.kind {
            ToxicKind::Latency { latency, jitter } => {
                t.insert("latency".into(), ms(*latency));
                t.insert("jitter".into(), ms(*jitter));
            }
            ToxicKind::Bandwidth { rate } => {
                t.insert("rate".into(), int(*rate));
            }
            ToxicKind::Timeout { timeout } | ToxicKind::ResetPeer { timeout } => {
                t.insert("timeout".into(), ms(*timeout));
            }
            ToxicKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                t.insert("average_size".into(), int(*average_size));
                t.insert("size_variation".into(), int(*size_variation));
                let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
                t.insert("delay".into(), int(micros));
            }
            ToxicKind::LimitData { bytes } => {
                t.insert("bytes".into(), int(*bytes));
            }
            ToxicKind::SlowClose { delay } => {
                t.insert("delay".into(), ms(*delay));
            }
        }
        let stream = match self.stream {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        };
        t.insert("stream".into(), Value::String(stream.into()));
        t.insert("toxicity".into(), Value::Float(self.toxicity.get()));
        t
    }
}

impl TryFrom<Table> for Toxic {
    type Error = FaultError;
    fn try_from(t: Table) -> Result<Self, Self::Error> {
        Self::from_table(t)
    }
}

impl From<Toxic> for Table {
    fn from(t: Toxic) -> Table {
        t.to_table()
    }
}

impl FromStr for Direction {
    type Err = FieldProblem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "upstream" => Ok(Direction::Upstream),
            "downstream" => Ok(Direction::Downstream),
            _ => Err(FieldProblem::UnknownValue {
                value: s.to_owned(),
                expected: "upstream, downstream",
            }),
        }
    }
}
