//! Reading typed fields out of a TOML-ish table.
//!
//! Scenario files and Toxiproxy-style JSON both arrive as loosely typed maps. This helper takes
//! fields out one by one so that whatever is left at the end is, by construction, a field nobody
//! asked for, and every error names the field and the fault it belongs to.

use crate::fault::{Direction, FaultError, FieldProblem, Toxic, ToxicKind, Toxicity};
use std::time::Duration;
use toml::{Table, Value};

/// A table being consumed field by field on behalf of one fault type.
pub(crate) struct Attrs {
    /// Fault type name, carried into every error so the user knows which entry is wrong.
    fault: String,
    table: Table,
}

impl Attrs {
    /// Wraps `table` for the fault named `fault`.
    pub(crate) fn new(fault: impl Into<String>, table: Table) -> Self {
        Self {
            fault: fault.into(),
            table,
        }
    }

    /// Builds the error for `field` with the given problem.
    pub(crate) fn invalid(&self, field: &str, problem: FieldProblem) -> FaultError {
        FaultError::InvalidField {
            fault: self.fault.clone(),
            field: field.to_owned(),
            problem,
        }
    }

    fn missing(&self, field: &str) -> FaultError {
        FaultError::MissingField {
            fault: self.fault.clone(),
            field: field.to_owned(),
        }
    }

    /// Removes and returns the raw value of `field`, if present.
    pub(crate) fn take(&mut self, field: &str) -> Option<Value> {
        self.table.remove(field)
    }

    /// Takes a non-negative integer; integral floats are accepted because JSON producers often
    /// write `100.0` where they mean `100`.
    pub(crate) fn u64_or(&mut self, field: &str, default: Option<u64>) -> Result<u64, FaultError> {
        match self.take(field) {
            None => default.ok_or_else(|| self.missing(field)),
            Some(Value::Integer(i)) => {
                u64::try_from(i).map_err(|_| self.invalid(field, FieldProblem::Negative))
            }
            Some(Value::Float(f)) if f.fract() == 0.0 && f.is_finite() => {
                if f < 0.0 {
                    Err(self.invalid(field, FieldProblem::Negative))
                } else {
                    // Integral and finite: the cast only saturates beyond u64::MAX.
                    Ok(f as u64)
                }
            }
            Some(other) => Err(self.wrong_type(field, "a non-negative integer", &other)),
        }
    }

    /// Takes a float (integers are accepted and widened).
    pub(crate) fn f64_or(&mut self, field: &str, default: Option<f64>) -> Result<f64, FaultError> {
        match self.take(field) {
            None => default.ok_or_else(|| self.missing(field)),
            Some(Value::Float(f)) => Ok(f),
            Some(Value::Integer(i)) => Ok(i as f64),
            Some(other) => Err(self.wrong_type(field, "a number", &other)),
        }
    }

    /// Takes a string, if present.
    pub(crate) fn string(&mut self, field: &str) -> Result<Option<String>, FaultError> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(field, "a string", &other)),
        }
    }

    /// Moves every key of a nested `attributes` table (the Toxiproxy API shape) up to the top
    /// level, so both `{latency = 10}` and `{attributes = {latency = 10}}` parse the same.
    pub(crate) fn flatten_attributes(&mut self) -> Result<(), FaultError> {
        match self.take("attributes") {
            None => Ok(()),
            Some(Value::Table(inner)) => {
                for (key, value) in inner {
                    if self.table.contains_key(&key) {
                        return Err(self.invalid(&key, FieldProblem::Duplicate));
                    }
                    self.table.insert(key, value);
                }
                Ok(())
            }
            Some(other) => Err(self.wrong_type("attributes", "a table", &other)),
        }
    }

    /// Fails on the first field nobody consumed: a typo must not silently become a default.
    pub(crate) fn finish(self) -> Result<(), FaultError> {
        match self.table.keys().next() {
            None => Ok(()),
            Some(field) => Err(FaultError::UnknownField {
                fault: self.fault,
                field: field.clone(),
            }),
        }
    }

    fn wrong_type(&self, field: &str, expected: &'static str, got: &Value) -> FaultError {
        self.invalid(
            field,
            FieldProblem::WrongType {
                expected,
                found: got.type_str(),
            },
        )
    }
}

/// Reads the attributes of toxic `kind`, then `stream` and `toxicity`, then validates.
pub(crate) fn parse_toxic(kind: &str, a: &mut Attrs) -> Result<Toxic, FaultError> {
    a.flatten_attributes()?;
    let ms = |n: u64| Duration::from_millis(n);
    let kind = match kind {
        "latency" => ToxicKind::Latency {
            latency: ms(a.u64_or("latency", None)?),
            jitter: ms(a.u64_or("jitter", Some(0))?),
        },
        "bandwidth" => ToxicKind::Bandwidth {
            rate: a.u64_or("rate", None)?,
        },
        "timeout" => ToxicKind::Timeout {
            timeout: ms(a.u64_or("timeout", None)?),
        },
        "reset_peer" => ToxicKind::ResetPeer {
            timeout: ms(a.u64_or("timeout", Some(0))?),
        },
        "slicer" => ToxicKind::Slicer {
            average_size: a.u64_or("average_size", None)?,
            size_variation: a.u64_or("size_variation", Some(0))?,
            delay: Duration::from_micros(a.u64_or("delay", Some(0))?),
        },
        "limit_data" => ToxicKind::LimitData {
            bytes: a.u64_or("bytes", None)?,
        },
        "slow_close" => ToxicKind::SlowClose {
            delay: ms(a.u64_or("delay", None)?),
        },
        other => return Err(FaultError::UnknownType(other.to_owned())),
    };
    let stream = match a.string("stream")? {
        None => Direction::default(),
        Some(s) => s.parse().map_err(|p| a.invalid("stream", p))?,
    };
    let toxicity = a.f64_or("toxicity", Some(1.0))?;
    let toxicity = Toxicity::new(toxicity).map_err(|p| a.invalid("toxicity", p))?;
    let toxic = Toxic {
        kind,
        stream,
        toxicity,
    };
    toxic.validate()?;
    Ok(toxic)
}
