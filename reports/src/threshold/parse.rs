//! Threshold parser: a small hand-written scanner so every error can point at the exact byte
//! (and column) that broke the expression.

use super::{HttpMetric, METRIC_NAMES, Metric, Op, Suffix, TenantScope, Threshold};
use crate::model::{PhaseKind, ValueUnit};

/// What went wrong while parsing a threshold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The text is empty or only whitespace.
    #[error("empty threshold")]
    Empty,
    /// `during` was followed by something other than baseline/fault/recovery.
    #[error("unknown phase (expected baseline, fault or recovery)")]
    UnknownPhase,
    /// `during <phase>` was not followed by `:`.
    #[error("expected `:` after the phase")]
    ExpectedColon,
    /// The metric name is not one of the known metrics.
    #[error("unknown metric")]
    UnknownMetric,
    /// Only `endpoint` may appear inside `{...}`.
    #[error("unknown tag (only `endpoint` is supported)")]
    UnknownTag,
    /// Expected `=` between the tag and its value.
    #[error("expected `=` after the tag")]
    ExpectedEquals,
    /// Expected a double-quoted string.
    #[error("expected a double-quoted string")]
    ExpectedString,
    /// A string was opened and never closed.
    #[error("unterminated string")]
    UnterminatedString,
    /// Expected `}` closing the tag list.
    #[error("expected `}}`")]
    ExpectedCloseBrace,
    /// A phase or endpoint selector was applied to a non-`http.*` metric.
    #[error("phases and endpoint selectors apply only to http.* metrics")]
    SelectorNotAllowed,
    /// Expected a comparison operator.
    #[error("expected an operator (<, <=, >, >=, ==, !=)")]
    ExpectedOperator,
    /// Expected a number.
    #[error("expected a number")]
    ExpectedNumber,
    /// The unit suffix is not known.
    #[error("unknown unit (expected us, ms, s, m, h or %)")]
    UnknownUnit,
    /// The unit does not fit the metric (e.g. `ms` on a count).
    #[error("unit does not fit the metric: {0}")]
    UnitMismatch(&'static str),
    /// `tenant.` was not followed by a label (letters, digits, `_`, `-`) or `*`.
    #[error("expected a tenant label or `*` after `tenant.`")]
    ExpectedTenant,
    /// The statistic after `tenant.<label>.` is not an `http.*` statistic.
    #[error(
        "unknown tenant statistic (expected p50, p90, p95, p99, p999, max, avg, error_rate, rps, count or rate_limited)"
    )]
    UnknownTenantStat,
    /// `http.rate_limited` under a phase or endpoint selector: 429s are counted per tenant
    /// over the whole run.
    #[error("http.rate_limited takes no phase or endpoint selector")]
    RateLimitedSelector,
    /// Text left over after a complete threshold.
    #[error("unexpected text after the threshold")]
    TrailingInput,
}

/// A threshold that could not be parsed, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at column {column}, found {found:?}")]
pub struct ThresholdParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Byte offset of the problem in the input.
    pub offset: usize,
    /// 1-based column (in characters) of the problem, for `file:line:column` messages.
    pub column: usize,
    /// The offending text (the token at `offset`), or `end of input`.
    pub found: String,
}

/// Parse one threshold, e.g. `during fault: http.p99{endpoint="GET /x"} < 500ms`.
pub fn parse_threshold(input: &str) -> Result<Threshold, ThresholdParseError> {
    let mut c = Cursor { s: input, pos: 0 };
    c.skip_ws();
    if c.rest().is_empty() {
        return Err(c.error(ParseErrorKind::Empty));
    }
    let phase = parse_phase(&mut c)?;
    let metric_at = c.pos;
    let (metric, tenant, alert) = match parse_tenant(&mut c)? {
        Some((scope, stat)) => (Metric::Http(stat), Some(scope), None),
        None => {
            let (metric, alert) = parse_metric(&mut c)?;
            (metric, None, alert)
        }
    };
    let endpoint = parse_tags(&mut c)?;
    let selected = phase.is_some() || endpoint.is_some();
    if selected && (!metric.is_http() || tenant.is_some()) {
        c.pos = metric_at;
        return Err(c.error(ParseErrorKind::SelectorNotAllowed));
    }
    if selected && metric == Metric::Http(HttpMetric::RateLimited) {
        c.pos = metric_at;
        return Err(c.error(ParseErrorKind::RateLimitedSelector));
    }
    c.skip_ws();
    let op = parse_op(&mut c)?;
    c.skip_ws();
    let (literal, number) = parse_number(&mut c)?;
    let suffix = parse_suffix(&mut c, metric)?;
    c.skip_ws();
    if !c.rest().is_empty() {
        return Err(c.error(ParseErrorKind::TrailingInput));
    }
    Ok(Threshold {
        phase,
        metric,
        endpoint,
        tenant,
        alert,
        op,
        literal,
        suffix,
        limit: number * suffix.factor(),
    })
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    /// Take the longest prefix whose characters satisfy `f`.
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|ch: char| !f(ch)).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn error(&self, kind: ParseErrorKind) -> ThresholdParseError {
        let rest = self.rest();
        let token_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let found = if rest.is_empty() {
            "end of input".to_owned()
        } else {
            rest[..token_end].to_owned()
        };
        ThresholdParseError {
            kind,
            offset: self.pos,
            column: self.s[..self.pos].chars().count() + 1,
            found,
        }
    }
}

fn is_ident(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'
}

fn parse_phase(c: &mut Cursor<'_>) -> Result<Option<PhaseKind>, ThresholdParseError> {
    let save = c.pos;
    if c.take_while(is_ident) != "during" || !c.rest().starts_with(char::is_whitespace) {
        c.pos = save;
        return Ok(None);
    }
    c.skip_ws();
    let at = c.pos;
    let word = c.take_while(is_ident);
    let Some(kind) = PhaseKind::ALL.into_iter().find(|k| k.as_str() == word) else {
        c.pos = at;
        return Err(c.error(ParseErrorKind::UnknownPhase));
    };
    c.skip_ws();
    if !c.eat(":") {
        return Err(c.error(ParseErrorKind::ExpectedColon));
    }
    c.skip_ws();
    Ok(Some(kind))
}

/// A metric name, and the rule's name for `alert.<name>.fired`.
fn parse_metric(c: &mut Cursor<'_>) -> Result<(Metric, Option<String>), ThresholdParseError> {
    let at = c.pos;
    let word = c.take_while(is_ident);
    let alert = word
        .strip_prefix("alert.")
        .and_then(|w| w.strip_suffix(".fired"))
        .filter(|name| is_rule_name(name));
    if let Some(name) = alert {
        return Ok((Metric::AlertFired, Some(name.to_owned())));
    }
    match METRIC_NAMES
        .iter()
        .find(|(n, m)| *n == word && *m != Metric::AlertFired)
    {
        Some((_, m)) => Ok((*m, None)),
        None => {
            c.pos = at;
            Err(c.error(ParseErrorKind::UnknownMetric))
        }
    }
}

/// `tenant.<label>.<stat>` (or `tenant.*.<stat>`), when the metric starts with `tenant.`.
fn parse_tenant(
    c: &mut Cursor<'_>,
) -> Result<Option<(TenantScope, HttpMetric)>, ThresholdParseError> {
    if !c.eat("tenant.") {
        return Ok(None);
    }
    let scope = if c.eat("*") {
        TenantScope::Each
    } else {
        let label = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
        if label.is_empty() {
            return Err(c.error(ParseErrorKind::ExpectedTenant));
        }
        TenantScope::Named(label.to_owned())
    };
    if !c.eat(".") {
        return Err(c.error(ParseErrorKind::UnknownTenantStat));
    }
    let at = c.pos;
    let stat = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    match METRIC_NAMES.iter().find_map(|(name, m)| match m {
        Metric::Http(h) if name.strip_prefix("http.") == Some(stat) => Some(*h),
        _ => None,
    }) {
        Some(h) => Ok(Some((scope, h))),
        None => {
            c.pos = at;
            Err(c.error(ParseErrorKind::UnknownTenantStat))
        }
    }
}

/// An alerting rule's name as Prometheus allows it (a metric name without `:`).
fn is_rule_name(name: &str) -> bool {
    name.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// `{endpoint="..."}` (optional). Strings support `\"` and `\\` escapes.
fn parse_tags(c: &mut Cursor<'_>) -> Result<Option<String>, ThresholdParseError> {
    if !c.eat("{") {
        return Ok(None);
    }
    c.skip_ws();
    let at = c.pos;
    if c.take_while(is_ident) != "endpoint" {
        c.pos = at;
        return Err(c.error(ParseErrorKind::UnknownTag));
    }
    c.skip_ws();
    if !c.eat("=") {
        return Err(c.error(ParseErrorKind::ExpectedEquals));
    }
    c.skip_ws();
    let value = parse_string(c)?;
    c.skip_ws();
    if !c.eat("}") {
        return Err(c.error(ParseErrorKind::ExpectedCloseBrace));
    }
    Ok(Some(value))
}

fn parse_string(c: &mut Cursor<'_>) -> Result<String, ThresholdParseError> {
    let open = c.pos;
    if !c.eat("\"") {
        return Err(c.error(ParseErrorKind::ExpectedString));
    }
    let mut out = String::new();
    let mut chars = c.rest().char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => {
                c.pos += i + 1;
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, esc)) => out.push(esc),
                None => break,
            },
            _ => out.push(ch),
        }
    }
    c.pos = open;
    Err(c.error(ParseErrorKind::UnterminatedString))
}

fn parse_op(c: &mut Cursor<'_>) -> Result<Op, ThresholdParseError> {
    // Two-character operators first so `<=` is not read as `<`.
    const OPS: [(&str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    for (text, op) in OPS {
        if c.eat(text) {
            return Ok(op);
        }
    }
    Err(c.error(ParseErrorKind::ExpectedOperator))
}

fn parse_number(c: &mut Cursor<'_>) -> Result<(String, f64), ThresholdParseError> {
    let at = c.pos;
    let text = c.take_while(|ch| ch.is_ascii_digit() || ch == '.');
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && text.starts_with(|ch: char| ch.is_ascii_digit()) => {
            Ok((text.to_owned(), v))
        }
        _ => {
            c.pos = at;
            Err(c.error(ParseErrorKind::ExpectedNumber))
        }
    }
}

fn parse_suffix(c: &mut Cursor<'_>, metric: Metric) -> Result<Suffix, ThresholdParseError> {
    let at = c.pos;
    let word = c.take_while(|ch| ch.is_alphabetic() || ch == '%');
    let suffix = match word {
        "" => Suffix::None,
        "us" | "µs" => Suffix::Micros,
        "ms" => Suffix::Millis,
        "s" => Suffix::Seconds,
        "m" => Suffix::Minutes,
        "h" => Suffix::Hours,
        "%" => Suffix::Percent,
        _ => {
            c.pos = at;
            return Err(c.error(ParseErrorKind::UnknownUnit));
        }
    };
    let fits = match (metric.unit(), suffix) {
        (ValueUnit::Microseconds, s) => !matches!(s, Suffix::None | Suffix::Percent),
        (ValueUnit::Ratio, s) => matches!(s, Suffix::None | Suffix::Percent),
        (ValueUnit::Count | ValueUnit::PerSecond | ValueUnit::PerMinute, s) => s == Suffix::None,
    };
    if fits {
        return Ok(suffix);
    }
    c.pos = at;
    let why = match metric.unit() {
        ValueUnit::Microseconds => "a time needs a unit: us, ms, s, m or h",
        ValueUnit::Ratio => "a rate takes % or a plain fraction",
        ValueUnit::Count | ValueUnit::PerSecond | ValueUnit::PerMinute => {
            "this metric takes a plain number"
        }
    };
    Err(c.error(ParseErrorKind::UnitMismatch(why)))
}
