//! What a property error says: the resource type, the property, the value received (shown
//! short) and what is allowed. Its Display text is the CloudFormation Reason.

use serde_json::Value;
use std::fmt;

/// The longest rendering of a received value that goes into a Reason.
pub(crate) const MAX_SHOWN_VALUE: usize = 80;

/// A property that could not be decoded, in the user's words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{resource_type}: {property} {problem}")]
pub struct PropertyError {
    pub resource_type: String,
    pub property: String,
    pub problem: Problem,
}

/// What is wrong with a property.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Missing,
    /// Required in this situation only; the text says when.
    RequiredWhen(String),
    WrongType {
        expected: &'static str,
        got: String,
    },
    OutOfRange {
        min: i64,
        max: i64,
        got: String,
    },
    NotOneOf {
        allowed: Vec<String>,
        got: String,
    },
    Invalid {
        rule: String,
        got: String,
    },
    Conflict {
        other: String,
    },
    /// Allowed only together with another setting; the text names it.
    OnlyWith(String),
    Unknown {
        allowed: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => write!(f, "is required"),
            Problem::RequiredWhen(when) => write!(f, "is required when {when}"),
            Problem::WrongType { expected, got } => write!(f, "must be {expected}, got {got}"),
            Problem::OutOfRange { min, max, got } => {
                write!(f, "must be between {min} and {max}, got {got}")
            }
            Problem::NotOneOf { allowed, got } => {
                write!(f, "must be one of {}, got {got}", allowed.join(", "))
            }
            Problem::Invalid { rule, got } => write!(f, "{rule}, got {got}"),
            Problem::Conflict { other } => write!(f, "cannot be combined with {other}"),
            Problem::OnlyWith(other) => write!(f, "is only allowed with {other}"),
            Problem::Unknown { allowed } => {
                write!(
                    f,
                    "is not a known property; allowed: {}",
                    allowed.join(", ")
                )
            }
        }
    }
}

/// Renders a received value for a Reason: numbers and booleans plain, strings quoted,
/// containers summarised, everything cut to a readable length.
pub fn show(value: &Value) -> String {
    let text = match value {
        Value::Null => "null".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        Value::Array(items) => format!("a list of {}", items.len()),
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    truncate_chars(&text, MAX_SHOWN_VALUE)
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
