//! Repo-wide rules checked on the source text (rust-analyzer's `tidy` habit): cheap, and they
//! catch a whole class where a behaviour test catches one instance.
//!
//! The rule here: a thiserror error either shows its cause in its message or returns it from
//! `source()`, never both. anyhow's `{:#}` (our CLI's error line) prints the message and then
//! every `source()`, so an error doing both prints its cause twice.

use std::path::{Path, PathBuf};

/// One `#[error("…")]` attribute and the fields of the variant or struct it is on.
#[derive(Debug)]
struct ErrorAttr {
    line: usize,
    message: String,
    fields: Vec<Field>,
}

/// A field as thiserror sees it: `name` is the identifier, or the index of a tuple field.
#[derive(Debug)]
struct Field {
    name: String,
    /// `#[source]`, `#[from]` or named `source`: what thiserror returns from `source()`.
    is_source: bool,
}

impl ErrorAttr {
    /// The source fields the message also interpolates.
    fn doubled(&self) -> Vec<&str> {
        let shown = placeholders(&self.message);
        self.fields
            .iter()
            .filter(|f| f.is_source && shown.contains(&f.name))
            .map(|f| f.name.as_str())
            .collect()
    }
}

/// Names inside `{…}` of a format string (`{source}`, `{0:?}` → `source`, `0`); `{{` is text.
fn placeholders(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        let name = inner.split(':').next().unwrap_or_default().trim();
        out.push(name.to_owned());
        rest = &after[close + 1..];
    }
    out
}

/// The string literal at the start of `text` (after `"`), escapes kept as written, and what
/// follows its closing quote.
fn string_literal(text: &str) -> Option<(&str, &str)> {
    let body = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some((&body[..i], &body[i + 1..])),
            _ => {}
        }
    }
    None
}

/// `text` from its first character, an opening bracket, to the matching close (exclusive).
fn balanced(text: &str) -> Option<&str> {
    let (open, close) = match text.chars().next()? {
        '(' => ('(', ')'),
        '{' => ('{', '}'),
        '[' => ('[', ']'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(&text[1..i]);
            }
        }
    }
    None
}

/// Removes `//` comments line by line (doc comments between fields carry no fields).
fn without_line_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The fields of the item after an attribute: skips further attributes, doc comments and the
/// item's name up to its `(…)` or `{…}`; a unit variant has none.
fn fields_after(text: &str) -> Vec<Field> {
    let text = without_line_comments(text);
    let rest = skip_attributes(&text);
    let Some(start) = rest.find(['(', '{', ',', ';', '}']) else {
        return Vec::new();
    };
    let tuple = rest[start..].starts_with('(');
    let Some(group) = balanced(&rest[start..]) else {
        return Vec::new();
    };
    split_top_level(group)
        .into_iter()
        .filter(|f| !f.trim().is_empty())
        .enumerate()
        .map(|(index, f)| {
            let is_marked = f.contains("#[source]") || f.contains("#[from]");
            let bare = skip_attributes(f);
            let bare = bare.strip_prefix("pub ").unwrap_or(bare).trim();
            let name = if tuple {
                index.to_string()
            } else {
                bare.split(':').next().unwrap_or_default().trim().to_owned()
            };
            Field {
                is_source: is_marked || name == "source",
                name,
            }
        })
        .collect()
}

/// `text` after its leading `#[…]` attributes and whitespace.
fn skip_attributes(text: &str) -> &str {
    let mut rest = text.trim_start();
    while rest.starts_with("#[") {
        let Some(attr) = balanced(&rest[1..]) else {
            return rest;
        };
        // `#` + `[` + the attribute + `]`
        rest = rest[attr.len() + 3..].trim_start();
    }
    rest
}

/// Splits a field list at commas outside brackets and generics.
fn split_top_level(group: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut from) = (0i32, 0);
    for (i, c) in group.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&group[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&group[from..]);
    out
}

/// Every `#[error("…")]` in `source` (`#[error(transparent)]` forwards both and is fine).
fn error_attrs(source: &str) -> Vec<ErrorAttr> {
    const OPEN: &str = "#[error(";
    let mut out = Vec::new();
    for (at, _) in source.match_indices(OPEN) {
        let after = source[at + OPEN.len()..].trim_start();
        let Some((message, tail)) = string_literal(after) else {
            continue;
        };
        let Some(end) = tail.find(")]") else { continue };
        out.push(ErrorAttr {
            line: source[..at].matches('\n').count() + 1,
            message: message.to_owned(),
            fields: fields_after(&tail[end + 2..]),
        });
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_scanner_flags_a_cause_in_both_message_and_source_and_nothing_else() {
    // Spelled `ERROR` so that the workspace scan below does not find these on purpose-made
    // violations in this very file.
    let text = r#"
        enum E {
            /// Doubled: shown and returned.
            #[ERROR("reading {path}: {source}")]
            Read { path: String, source: std::io::Error },
            #[ERROR("parse: {0:?}")]
            Parse(#[from] serde_json::Error),
            #[ERROR("reading {path}")]
            Fine { path: String, #[source] cause: std::io::Error },
            #[ERROR("{0} {{0}}")]
            Shown(String),
            #[ERROR("{} bytes", .0)]
            Sized([u8; 4]),
            #[ERROR(transparent)]
            Forwarded(#[from] std::fmt::Error),
        }
        #[ERROR("junit: {0}")]
        pub struct J(#[from] quick_junit::SerializeError);
    "#
    .replace("#[ERROR(", "#[error(");
    let attrs = error_attrs(&text);
    assert_eq!(attrs.len(), 6, "{attrs:#?}");
    let flagged: Vec<String> = attrs
        .iter()
        .flat_map(|a| {
            a.doubled()
                .into_iter()
                .map(|f| format!("{} → {f}", a.message))
        })
        .collect();
    assert_eq!(
        flagged,
        [
            "reading {path}: {source} → source",
            "parse: {0:?} → 0",
            "junit: {0} → 0"
        ]
    );
}

#[test]
fn no_error_in_the_workspace_prints_its_source_twice() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let (mut seen, mut violations) = (0, Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source file");
        for attr in error_attrs(&text) {
            seen += 1;
            for field in attr.doubled() {
                violations.push(format!(
                    "{}:{}: #[error({:?})] shows `{field}`, which is also its source()",
                    file.strip_prefix(root).unwrap_or(&file).display(),
                    attr.line,
                    attr.message
                ));
            }
        }
    }
    // The workspace has dozens of error messages; finding none means the scan broke.
    assert!(seen > 50, "only {seen} #[error(\"…\")] attributes found");
    assert!(
        violations.is_empty(),
        "show the cause in the message or return it from source(), not both (anyhow prints \
         source() after the message):\n{}",
        violations.join("\n")
    );
}
