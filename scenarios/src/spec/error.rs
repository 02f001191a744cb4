//! Errors for scenario specs, and the position helpers that make them point at the file.
//!
//! Every problem found in a spec file becomes [`SpecError::Invalid`], which carries the origin
//! (file path or built-in name), a 1-based line and column, and the dotted field path — so a
//! user reads `my.toml:12:9: stages[2].duration: invalid duration "5 parsecs"` and can jump
//! straight there. Errors raised by `toml`/serde only carry a byte span; the field path is
//! recovered by finding that span in the parsed document tree (see [`field_path_at`]).

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Everything that can go wrong while loading or planning a scenario spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The spec text is wrong; the position and field path say where.
    #[error("{origin}:{line}:{column}: {}{problem}", path_prefix(path))]
    Invalid {
        /// File path as the user gave it, or `builtin/<name>.toml`.
        origin: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// Dotted field path such as `stages[2].duration`; empty for the document root.
        path: String,
        /// What is wrong.
        problem: Problem,
    },
    /// A spec file could not be read.
    #[error("{origin}: cannot read scenario file")]
    Read {
        /// The path that was tried.
        origin: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The name is neither a built-in scenario nor a `.toml` path.
    #[error("unknown scenario {name:?}: expected one of {known} or a path to a .toml file")]
    UnknownScenario {
        /// What the user asked for.
        name: String,
        /// Comma-separated built-in names, for the message.
        known: String,
    },
    /// A profile name (e.g. from a command-line flag) is not one of the three sizes.
    #[error("unknown profile {name:?}: expected one of small, medium, enterprise")]
    UnknownProfile {
        /// What the user asked for.
        name: String,
    },
    /// `duration_scale` given to [`crate::ScenarioSpec::plan`] is not a finite number > 0.
    ///
    /// It comes from the caller, not from the file, so there is no line to point at.
    #[error("{origin}: duration_scale: must be a finite number greater than 0, got {scale}")]
    InvalidScale {
        /// The spec being planned.
        origin: String,
        /// The rejected factor.
        scale: f64,
    },
}

/// What is wrong with a spec, independent of where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The text is not valid TOML.
    #[error("TOML syntax error: {detail}")]
    Syntax {
        /// The parser's description.
        detail: String,
    },
    /// Valid TOML that does not fit the spec's shape: unknown field, wrong type, missing field,
    /// unknown enum value (stage kind, profile name) or an out-of-range number.
    #[error("{detail}")]
    Schema {
        /// serde's description, e.g. "unknown field `bogus`, expected one of ...".
        detail: String,
    },
    /// The top-level `version` key is absent.
    #[error("missing `version`; add `version = 1` at the top of the file")]
    MissingVersion,
    /// The top-level `version` is not a version this build understands.
    #[error("unsupported spec version {found}; this build understands version 1")]
    UnsupportedVersion {
        /// The value as written.
        found: String,
    },
    /// A duration string is not a humantime duration.
    #[error("invalid duration {text:?} ({reason}); write e.g. \"500ms\", \"30s\", \"5m\"")]
    InvalidDuration {
        /// The text as written.
        text: String,
        /// humantime's reason.
        reason: String,
    },
    /// A duration is longer than any bounded run should be.
    #[error("duration {text:?} is longer than the maximum of {max:?}")]
    DurationTooLong {
        /// The text as written.
        text: String,
        /// The limit.
        max: Duration,
    },
    /// A stage's `users` is neither a positive integer nor a positive percentage string.
    #[error(
        "invalid user count {found}; write a positive integer (e.g. 25) or a percentage of peak users up to 10000% (e.g. \"150%\")"
    )]
    InvalidUsers {
        /// The value as written.
        found: String,
    },
    /// An arrival rate is not `N/s` (or `N/m`) within bounds.
    #[error(
        "invalid rate {text:?}; write iterations per second (e.g. \"200/s\") or per minute (\"90/m\"), at most 100000/s"
    )]
    InvalidRate {
        /// The text as written.
        text: String,
    },
    /// A stage gives both `users` (closed model) and a rate (open model).
    #[error(
        "a stage has either `users` (a closed model) or `rate`/`from`/`to` (arrival rate), not both"
    )]
    UsersAndRate,
    /// A stage gives neither `users` nor a rate.
    #[error(
        "missing `users` (e.g. users = 25) or an arrival rate (e.g. rate = \"200/s\", or from/to)"
    )]
    NoLoad,
    /// `max_users` on a users stage.
    #[error("`max_users` only applies to an arrival-rate stage (one with `rate` or `from`/`to`)")]
    MaxUsersWithoutRate,
    /// `rate` together with `from`/`to`.
    #[error("write `rate` for a held rate or `from`/`to` for a ramp, not both")]
    RateAndRamp,
    /// `from` without `to`.
    #[error("a ramped rate needs `to` (the rate at the stage's end)")]
    RampWithoutTo,
    /// Users stages and arrival-rate stages in one spec.
    #[error(
        "this stage is {this} but stages[0] is {first}; a scenario is either all users stages or all arrival-rate stages"
    )]
    MixedModels {
        /// This stage's model.
        this: &'static str,
        /// The first stage's model.
        first: &'static str,
    },
    /// Every persona weight is zero, so no virtual user could be created.
    #[error("all persona weights are zero; give at least one persona a weight > 0")]
    ZeroWeights,
    /// `think_time.min` is larger than `think_time.max`.
    #[error("min ({min:?}) is greater than max ({max:?})")]
    ThinkTimeInverted {
        /// The configured minimum.
        min: Duration,
        /// The configured maximum.
        max: Duration,
    },
    /// The spec has no `[[stages]]`.
    #[error("a scenario needs at least one [[stages]] entry")]
    NoStages,
    /// A text field that names something is empty.
    #[error("must not be empty")]
    Empty,
    /// A stage lasts zero time.
    #[error("duration must be greater than zero")]
    ZeroDuration,
    /// A chaos entry's `fault`, `target` or attributes do not describe a fault the chaos
    /// vocabulary knows (unknown type, unknown target, a bad or unknown attribute). Boxed:
    /// the fault error carries several names, and every other spec error would pay for them.
    #[error("{0}")]
    Fault(Box<gauntlet_chaos::EntryError>),
    /// `noisy_neighbour.stage` names no stage of the spec.
    #[error("no stage is named {name:?}; the stages are: {known}")]
    UnknownStage {
        /// The name as written.
        name: String,
        /// The spec's stage names.
        known: String,
    },
    /// `noisy_neighbour.rate` is neither a percentage of the plan's limit nor a rate.
    #[error(
        "invalid flood rate {text:?}; write a share of the tenant's plan limit up to 1000% (e.g. \"200%\") or requests per second up to 5000 (e.g. \"20/s\")"
    )]
    InvalidFloodRate {
        /// The text as written.
        text: String,
    },
    /// A chaos fault starts at or after the end of the last stage, so it would never run.
    #[error("fault starts at {start:?}, but the stages end at {total:?}")]
    FaultAfterEnd {
        /// The configured start offset.
        start: Duration,
        /// Sum of all stage durations.
        total: Duration,
    },
    /// A drill's disaster is not inside the load, or no backup can be taken before it.
    #[error(
        "the disaster at {at:?} must come after the first backup (at 0 s) and before the stages end at {total:?}"
    )]
    DisasterOutsideLoad {
        /// The configured offset.
        at: Duration,
        /// Sum of all stage durations.
        total: Duration,
    },
    /// A drill setting that only one strategy reads was given for the other.
    #[error("`{field}` only applies to strategy \"basebackup+wal\" (WAL archiving)")]
    OnlyForWal {
        /// The field.
        field: &'static str,
    },
    /// `archive_timeout` is below Postgres's one-second resolution, or not whole seconds.
    #[error("archive_timeout must be whole seconds, at least 1s (Postgres's unit)")]
    ArchiveTimeout,
}

fn path_prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

impl SpecError {
    /// Builds [`SpecError::Invalid`] for a byte span of `source`.
    pub(crate) fn at(
        origin: &str,
        source: &str,
        span: Range<usize>,
        path: impl Into<String>,
        problem: Problem,
    ) -> Self {
        let (line, column) = line_column(source, span.start);
        SpecError::Invalid {
            origin: origin.to_owned(),
            line,
            column,
            path: path.into(),
            problem,
        }
    }

    /// The (line, column) this error points at, if it points into a file.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            SpecError::Invalid { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The field path this error names, if it points into a file.
    pub fn field_path(&self) -> Option<&str> {
        match self {
            SpecError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The problem, for errors that point into a file.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            SpecError::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// Turns a byte offset into a 1-based (line, column); the column counts characters, as editors
/// do. Offsets past the end or inside a multi-byte character are clamped rather than rejected,
/// because this only ever decorates an error message.
pub fn line_column(source: &str, byte: usize) -> (usize, usize) {
    let mut at = byte.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
    let line = before.matches('\n').count() + 1;
    let column = source[line_start..at].chars().count() + 1;
    (line, column)
}

/// Converts a `toml` parse error (bad syntax) into a spec error.
pub(crate) fn syntax_error(origin: &str, source: &str, err: &toml::de::Error) -> SpecError {
    let span = err.span().unwrap_or(0..0);
    // The document failed to parse, but the recoverable parser still yields the part it
    // understood; the nearest key before the error is the best field path we can give.
    let (tree, _) = DeTable::parse_recoverable(source);
    let path = nearest_key_before(tree.get_ref(), span.start);
    let detail = err.message().to_owned();
    SpecError::at(origin, source, span, path, Problem::Syntax { detail })
}

/// Converts a serde error raised while deserializing a syntactically valid document.
pub(crate) fn schema_error(
    origin: &str,
    source: &str,
    tree: &DeTable<'_>,
    err: &toml::de::Error,
) -> SpecError {
    let span = err.span().unwrap_or(0..0);
    let mut path = field_path_at(tree, span.clone());
    let detail = err.message().to_owned();
    // serde reports a missing field at the span of the table that lacks it; naming the field
    // itself in the path is what the user needs. The wording is serde's fixed
    // `Error::missing_field` format.
    if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        path = join(&path, field);
    }
    SpecError::at(origin, source, span, path, Problem::Schema { detail })
}

fn join(path: &str, key: &str) -> String {
    let key = key_segment(key);
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// Bare TOML keys print as-is; anything else is quoted so the path stays unambiguous.
fn key_segment(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// The dotted path of the innermost key or value whose span encloses `span`; empty (the root)
/// when nothing does. An empty span is what serde gives for the document root itself.
pub(crate) fn field_path_at(tree: &DeTable<'_>, span: Range<usize>) -> String {
    if span.is_empty() {
        return String::new();
    }
    let mut best: Option<(usize, String)> = None;
    visit_table(tree, "", &mut |path, entry| {
        if entry.start <= span.start && span.end <= entry.end {
            let len = entry.end - entry.start;
            // `<=` so that, at equal size, the deeper entry (visited later) wins: an
            // array-of-tables and its first element share the `[[name]]` header span.
            if best.as_ref().is_none_or(|(b, _)| len <= *b) {
                best = Some((len, path.to_owned()));
            }
        }
    });
    best.map(|(_, p)| p).unwrap_or_default()
}

fn nearest_key_before(tree: &DeTable<'_>, offset: usize) -> String {
    let mut best: Option<(usize, String)> = None;
    visit_table(tree, "", &mut |path, entry| {
        if entry.start <= offset && best.as_ref().is_none_or(|(b, _)| entry.start >= *b) {
            best = Some((entry.start, path.to_owned()));
        }
    });
    best.map(|(_, p)| p).unwrap_or_default()
}

/// Calls `f(path, span)` for every key span and value span in the tree.
fn visit_table(table: &DeTable<'_>, prefix: &str, f: &mut dyn FnMut(&str, Range<usize>)) {
    for (key, value) in table {
        let path = join(prefix, key.get_ref());
        f(&path, key.span());
        visit_value(value, &path, f);
    }
}

fn visit_value(value: &Spanned<DeValue<'_>>, path: &str, f: &mut dyn FnMut(&str, Range<usize>)) {
    f(path, value.span());
    match value.get_ref() {
        DeValue::Table(table) => visit_table(table, path, f),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                visit_value(item, &format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}
