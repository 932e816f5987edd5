//! The suppression list: findings a security team has accepted, each with a reason and an expiry
//! date, muted by account, Region, key (ARN, id or alias pattern), check and tags. Read from the
//! SSM parameter `SUPPRESSIONS_PARAMETER` names at the start of every run; a malformed list
//! fails the run before any key is read, naming the entry and the field. The document is
//! described in docs/functions.md, "Suppressions".
//!
//! Semantics: the fields of one entry are ANDed; the values of one field are ORed; an absent
//! field matches everything, but an entry must name at least one field. Patterns take `*` for
//! any run of characters. Suppressed findings are listed and counted apart, never dropped; an
//! expired entry stops applying and the report lists it.

use crate::checks::{Check, Finding};
use aws_smithy_types::date_time::Format;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Fields an entry may have.
const FIELDS: [&str; 8] = [
    "id", "reason", "expires", "checks", "accounts", "regions", "keys", "tags",
];
const MAX_ENTRIES: usize = 500;

/// A malformed list: the entry (by index, and id when it has one) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuppressionError {
    #[error("the suppression list {0}")]
    Document(String),
    #[error("suppressions[{index}]{id}.{field}: {problem}")]
    Entry {
        index: usize,
        /// ` (id "…")`, or empty.
        id: String,
        field: String,
        problem: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub id: String,
    pub reason: String,
    /// `YYYY-MM-DD`, the last day it applies.
    pub expires: String,
    pub checks: Vec<Check>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Patterns over the key's ARN, id and aliases.
    pub keys: Vec<String>,
    /// Every pair must match (values are patterns).
    pub tags: BTreeMap<String, String>,
}

/// What a finding is matched against.
pub struct KeyIdentity<'a> {
    pub arn: &'a str,
    pub key_id: &'a str,
    pub aliases: &'a [String],
    pub tags: Option<&'a BTreeMap<String, String>>,
}

/// A finding a suppression muted, with why and until when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressedFinding {
    #[serde(flatten)]
    pub finding: Finding,
    pub suppression: String,
    pub reason: String,
    pub expires: String,
}

/// An entry past its date: it no longer mutes anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiredSuppression {
    pub id: String,
    pub expired: String,
    pub reason: String,
}

/// The list as it applies on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressions {
    pub active: Vec<Suppression>,
    pub expired: Vec<ExpiredSuppression>,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        // No `*`: the text itself.
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`: (account, Region).
fn account_and_region(arn: &str) -> (&str, &str) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        [_, _, _, region, account, _] => (account, region),
        _ => ("", ""),
    }
}

impl Suppression {
    pub fn applies(&self, check: Check, key: &KeyIdentity) -> bool {
        let (account, region) = account_and_region(key.arn);
        let any = |patterns: &[String], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| matches(p, value))
        };
        let key_matches = self.keys.is_empty()
            || self.keys.iter().any(|p| {
                matches(p, key.arn)
                    || matches(p, key.key_id)
                    || key.aliases.iter().any(|a| matches(p, a))
            });
        let tags_match = self.tags.iter().all(|(k, pattern)| {
            key.tags
                .and_then(|tags| tags.get(k))
                .is_some_and(|v| matches(pattern, v))
        });
        (self.checks.is_empty() || self.checks.contains(&check))
            && any(&self.accounts, account)
            && any(&self.regions, region)
            && key_matches
            && tags_match
    }
}

impl Suppressions {
    /// Whether any active entry names tags (the audit then reads every key's tags).
    pub fn use_tags(&self) -> bool {
        self.active.iter().any(|s| !s.tags.is_empty())
    }

    /// Splits a key's findings into those that stand and those an active entry mutes.
    pub fn apply(
        &self,
        findings: Vec<Finding>,
        key: &KeyIdentity,
    ) -> (Vec<Finding>, Vec<SuppressedFinding>) {
        let mut standing = Vec::new();
        let mut muted = Vec::new();
        for finding in findings {
            match self.active.iter().find(|s| s.applies(finding.check, key)) {
                Some(s) => muted.push(SuppressedFinding {
                    finding,
                    suppression: s.id.clone(),
                    reason: s.reason.clone(),
                    expires: s.expires.clone(),
                }),
                None => standing.push(finding),
            }
        }
        (standing, muted)
    }
}

fn is_date(text: &str) -> bool {
    text.len() == 10
        && aws_smithy_types::DateTime::from_str(&format!("{text}T00:00:00Z"), Format::DateTime)
            .is_ok()
}

/// Reads the document; `today` (`YYYY-MM-DD`) decides which entries are expired.
pub fn parse(document: &str, today: &str) -> Result<Suppressions, SuppressionError> {
    let top = SuppressionError::Document;
    let value: Value =
        serde_json::from_str(document).map_err(|e| top(format!("is not JSON: {e}")))?;
    let entries = match value.get("suppressions") {
        Some(Value::Array(entries)) => entries,
        _ => {
            return Err(top(
                "must be an object with a \"suppressions\" list".to_owned()
            ));
        }
    };
    if entries.len() > MAX_ENTRIES {
        return Err(top(format!(
            "has {} entries; at most {MAX_ENTRIES}",
            entries.len()
        )));
    }
    let mut list = Suppressions::default();
    let mut ids: Vec<String> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let suppression = entry_of(index, entry)?;
        if ids.contains(&suppression.id) {
            return Err(SuppressionError::Entry {
                index,
                id: format!(" (id \"{}\")", suppression.id),
                field: "id".to_owned(),
                problem: "is used by an earlier entry; ids must be unique".to_owned(),
            });
        }
        ids.push(suppression.id.clone());
        if suppression.expires.as_str() < today {
            list.expired.push(ExpiredSuppression {
                id: suppression.id,
                expired: suppression.expires,
                reason: suppression.reason,
            });
        } else {
            list.active.push(suppression);
        }
    }
    Ok(list)
}

fn entry_of(index: usize, entry: &Value) -> Result<Suppression, SuppressionError> {
    let fail = |id: &str, field: &str, problem: String| SuppressionError::Entry {
        index,
        id: if id.is_empty() {
            String::new()
        } else {
            format!(" (id \"{id}\")")
        },
        field: field.to_owned(),
        problem,
    };
    let Some(object) = entry.as_object() else {
        return Err(fail("", "(entry)", "must be an object".to_owned()));
    };
    let text = |field: &str, id: &str| -> Result<String, SuppressionError> {
        match object.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(_) => Err(fail(id, field, "must be a non-empty string".to_owned())),
            None => Err(fail(id, field, "is required".to_owned())),
        }
    };
    let id = text("id", "")?;
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(fail(
            &id,
            unknown,
            format!("is not a field; known: {}", FIELDS.join(", ")),
        ));
    }
    let reason = text("reason", &id)?;
    let expires = text("expires", &id)?;
    if !is_date(&expires) {
        return Err(fail(
            &id,
            "expires",
            format!("must be a date YYYY-MM-DD, got \"{expires}\""),
        ));
    }
    let list = |field: &str| -> Result<Vec<String>, SuppressionError> {
        match object.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    _ => Err(fail(
                        &id,
                        &format!("{field}[{i}]"),
                        "must be a non-empty string".to_owned(),
                    )),
                })
                .collect(),
            Some(_) => Err(fail(
                &id,
                field,
                "must be a non-empty list of strings".to_owned(),
            )),
        }
    };
    let mut checks = Vec::new();
    for (i, name) in list("checks")?.iter().enumerate() {
        match Check::ALL.iter().find(|c| c.id() == name) {
            Some(check) => checks.push(*check),
            None => {
                let known: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
                return Err(fail(
                    &id,
                    &format!("checks[{i}]"),
                    format!("\"{name}\" is not a check; known: {}", known.join(", ")),
                ));
            }
        }
    }
    let accounts = list("accounts")?;
    if let Some((i, bad)) = accounts
        .iter()
        .enumerate()
        .find(|(_, a)| !a.chars().all(|c| c.is_ascii_digit() || c == '*'))
    {
        return Err(fail(
            &id,
            &format!("accounts[{i}]"),
            format!("must be a 12-digit account id (or a pattern with *), got \"{bad}\""),
        ));
    }
    let tags = match object.get("tags") {
        None => BTreeMap::new(),
        Some(Value::Object(pairs)) if !pairs.is_empty() => {
            tag_pairs(pairs).map_err(|(key, problem)| fail(&id, &format!("tags.{key}"), problem))?
        }
        Some(_) => {
            return Err(fail(
                &id,
                "tags",
                "must be a non-empty object of tag key to value pattern".to_owned(),
            ));
        }
    };
    let suppression = Suppression {
        reason,
        expires,
        checks,
        accounts,
        regions: list("regions")?,
        keys: list("keys")?,
        tags,
        id: id.clone(),
    };
    let names_nothing = suppression.checks.is_empty()
        && suppression.accounts.is_empty()
        && suppression.regions.is_empty()
        && suppression.keys.is_empty()
        && suppression.tags.is_empty();
    if names_nothing {
        return Err(fail(
            &id,
            "(entry)",
            "must name at least one of checks, accounts, regions, keys or tags: an entry that \
             matches everything would mute the whole audit"
                .to_owned(),
        ));
    }
    Ok(suppression)
}

fn tag_pairs(pairs: &Map<String, Value>) -> Result<BTreeMap<String, String>, (String, String)> {
    pairs
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) if !s.is_empty() => Ok((k.clone(), s.clone())),
            _ => Err((
                k.clone(),
                "must be a non-empty string (a value or a pattern with *)".to_owned(),
            )),
        })
        .collect()
}

#[cfg(test)]
#[path = "suppressions_tests.rs"]
mod tests;
