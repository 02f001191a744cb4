//! Text from clients: the one gate every string passes before a handler sees it, and the
//! validated text types that carry their limits into the OpenAPI document.
//!
//! Two layers, on purpose:
//! - [`check_json`] and [`check_query`] run inside our `Json` and `Query` extractors, on the
//!   whole parsed input, before it is deserialized into the handler's type. Whatever the
//!   field's Rust type (even a plain `String`), no string Postgres cannot store reaches a
//!   handler: a new field cannot forget the check.
//! - The text types ([`Name`], [`Email`], ...) are what request types declare. Their
//!   `Deserialize` is the only way to build one, so a value that exists is trimmed, within
//!   its length limits and free of the characters its kind refuses; their schema states the
//!   same limits, from the same constants.
//!
//! What Postgres cannot store: in a UTF-8 database every Unicode scalar value except U+0000
//! (NUL). Rust strings cannot hold surrogates, and serde_json refuses lone surrogate escapes
//! as a syntax error, so NUL is the one character to refuse at the gate.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::error::ApiError;

/// Longest given or family name, department name or job title, in characters.
pub const NAME_MAX: usize = 100;
/// Longest search text (`q`), in characters.
pub const SEARCH_MAX: usize = 100;
/// Longest leave reason, in characters.
pub const REASON_MAX: usize = 500;
/// Longest e-mail address (RFC 5321's path limit minus the brackets).
pub const EMAIL_MAX: usize = 254;
/// Shortest password a new login may have.
pub const PASSWORD_MIN: usize = 8;
/// Longest password: argon2 hashes any length, but a megabyte password is an attack.
pub const PASSWORD_MAX: usize = 1024;

/// Why a string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// U+0000 cannot be stored in a Postgres `text` column.
    #[error("must not contain U+0000 (NUL): it cannot be stored")]
    Nul,
    /// A control character in a single-line field.
    #[error("must not contain control characters")]
    Control,
    /// Too short or too long (after trimming, in characters).
    #[error("must be {min}..={max} characters")]
    Length {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// Not shaped like `local@domain.tld`.
    #[error("must be an e-mail address (local@domain.tld)")]
    NotEmail,
}

/// The gate's check of one string.
pub fn storable(text: &str) -> Result<(), TextError> {
    if text.contains('\0') {
        Err(TextError::Nul)
    } else {
        Ok(())
    }
}

fn invalid_text(field: &str, error: &TextError) -> ApiError {
    let field = if field.is_empty() { "body" } else { field };
    ApiError::unprocessable("invalid_text", format!("{field}: {error}"))
}

/// Refuses a JSON document with an unstorable string anywhere (values and keys), naming the
/// first one by its path (`first_name`, `items[2].name`).
pub fn check_json(value: &serde_json::Value) -> Result<(), ApiError> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Result<(), ApiError> {
        match value {
            serde_json::Value::String(s) => storable(s).map_err(|e| invalid_text(path, &e)),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(fields) => {
                for (key, item) in fields {
                    // A key is text too: it ends up in error messages and, for unknown
                    // fields, nowhere else, but refusing it costs nothing.
                    storable(key).map_err(|e| invalid_text("a field name", &e))?;
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// Refuses a query string with an unstorable parameter name or value (after percent-decoding),
/// naming the parameter.
pub fn check_query(query: &str) -> Result<(), ApiError> {
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        storable(&name).map_err(|e| invalid_text("a query parameter name", &e))?;
        storable(&value).map_err(|e| invalid_text(&name, &e))?;
    }
    Ok(())
}

/// The rules of one kind of text: its limits and what it refuses.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Fewest characters after trimming.
    pub min: usize,
    /// Most characters after trimming.
    pub max: usize,
    /// Leading and trailing whitespace removed before checking and storing.
    pub trim: bool,
    /// Tab, newline and carriage return allowed (other control characters never are).
    pub multiline: bool,
    /// Every control character allowed (search text matches, it is never stored).
    pub any_control: bool,
    /// Must look like an e-mail address.
    pub email: bool,
}

impl Rule {
    const fn line(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            trim: true,
            multiline: false,
            any_control: false,
            email: false,
        }
    }

    /// Checks `raw` and returns the text to keep.
    pub fn apply(&self, raw: &str) -> Result<String, TextError> {
        storable(raw)?;
        let text = if self.trim { raw.trim() } else { raw };
        if !self.any_control
            && text
                .chars()
                .any(|c| c.is_control() && !(self.multiline && matches!(c, '\t' | '\n' | '\r')))
        {
            return Err(TextError::Control);
        }
        let len = text.chars().count();
        if len < self.min || len > self.max {
            return Err(TextError::Length {
                min: self.min,
                max: self.max,
            });
        }
        if self.email && !looks_like_email(text) {
            return Err(TextError::NotEmail);
        }
        Ok(text.to_owned())
    }

    /// The JSON schema of this kind of text: the same limits [`Rule::apply`] enforces.
    pub fn schema(&self, description: &str) -> RefOr<Schema> {
        let format = self
            .email
            .then_some(SchemaFormat::KnownFormat(KnownFormat::Email));
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(self.min))
            .max_length(Some(self.max))
            .format(format)
            .description(Some(description))
            .into()
    }
}

fn looks_like_email(text: &str) -> bool {
    !text.chars().any(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain
                    .split_once('.')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        })
}

/// Declares a validated text type: a `String` newtype whose `Deserialize` applies `$rule`
/// and whose schema states it.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $rule:expr, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The rule every value of this type satisfies.
            pub const RULE: Rule = $rule;

            /// Validates `raw` as this kind of text.
            pub fn parse(raw: &str) -> Result<Self, TextError> {
                Self::RULE.apply(raw).map(Self)
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = Cow::<'de, str>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                Self::RULE.schema($description)
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

text_type!(
    /// A given or family name, a department name or a job title: one line, trimmed.
    Name,
    Rule::line(1, NAME_MAX),
    "One line of text, trimmed, no control characters."
);
text_type!(
    /// Optional one-line text such as a job title: may be empty.
    ShortText,
    Rule::line(0, NAME_MAX),
    "One line of text (may be empty), trimmed, no control characters."
);
text_type!(
    /// Free text such as a leave reason: several lines allowed.
    LongText,
    Rule {
        multiline: true,
        ..Rule::line(0, REASON_MAX)
    },
    "Free text, trimmed; tabs and line breaks allowed, other control characters not."
);
text_type!(
    /// A search string: matched, never stored, so any character but NUL; not trimmed.
    SearchText,
    Rule {
        trim: false,
        any_control: true,
        ..Rule::line(0, SEARCH_MAX)
    },
    "Case-insensitive substring to search for."
);
text_type!(
    /// An e-mail address (compared case-insensitively).
    Email,
    Rule {
        email: true,
        ..Rule::line(3, EMAIL_MAX)
    },
    "An e-mail address."
);
text_type!(
    /// A password as sent: not trimmed, any character but NUL and control characters.
    Password,
    Rule {
        trim: false,
        ..Rule::line(1, PASSWORD_MAX)
    },
    "A password."
);
text_type!(
    /// The password of a new login: at least [`PASSWORD_MIN`] characters.
    NewPassword,
    Rule {
        trim: false,
        ..Rule::line(PASSWORD_MIN, PASSWORD_MAX)
    },
    "The password of a new login."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_everywhere_and_named() {
        let value = serde_json::json!({"a": {"b": ["ok", "x\u{0}y"]}});
        let err = check_json(&value).unwrap_err();
        assert_eq!(err.status_code(), 422);
        assert!(err.to_string().contains("a.b[1]"), "{err}");
        assert!(check_json(&serde_json::json!({"k\u{0}": 1})).is_err());
        assert!(
            check_query("q=a%00b")
                .unwrap_err()
                .to_string()
                .contains("q:")
        );
        assert!(check_query("q=%E2%9C%93&page=1").is_ok());
        assert_eq!(SearchText::parse("\u{0}"), Err(TextError::Nul));
    }

    #[test]
    fn rules_trim_limit_and_refuse_controls() {
        assert_eq!(Name::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"é".repeat(NAME_MAX)).is_ok());
        assert!(Name::parse(&"é".repeat(NAME_MAX + 1)).is_err());
        assert_eq!(Name::parse("a\u{7}b"), Err(TextError::Control));
        assert!(LongText::parse("line one\nline two\tok").is_ok());
        assert!(LongText::parse("bell\u{7}").is_err());
        assert!(SearchText::parse("\u{1}\u{7f}").is_ok());
        assert_eq!(Password::parse(" spaced ").unwrap().as_str(), " spaced ");
        assert!(NewPassword::parse("short").is_err());
    }

    #[test]
    fn emails_are_shaped_like_emails() {
        assert!(Email::parse("a@b.co").is_ok());
        for bad in ["nope", "@b.co", "a@b", "a@.co", "a b@c.de", "a@b@c.de"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
