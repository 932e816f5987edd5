//! Lenient, typed decoding of `ResourceProperties`.
//!
//! CloudFormation passes every scalar as a string, so `"30"` and `"true"` are accepted beside
//! `30` and `true`. Every property a resource reads is taken out of the map; whatever is left
//! at [`Props::finish`] is an unknown property and fails. Errors name the resource type, the
//! property, the value received and what is allowed (docs/contract.md, rule 7).

pub use crate::names::{KMS_KEY_ARN_RULE, LOG_GROUP_NAME_RULE, is_kms_key_arn, is_log_group_name};
use crate::problem::{MAX_SHOWN_VALUE, truncate_chars};
pub use crate::problem::{Problem, PropertyError, show};
use serde_json::{Map, Value};

/// Properties CloudFormation adds itself; accepted on every resource and otherwise ignored.
pub const IGNORED: &[&str] = &["ServiceToken", "ServiceTimeout"];

/// A user tag: `{Key, Value}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Keys the old tags had and the new ones lack: what an Update must untag. Without the old
/// properties nothing is removed, so tags added outside CloudFormation are never dropped.
pub fn removed_tag_keys(old: Option<&[Tag]>, new: &[Tag]) -> Vec<String> {
    old.unwrap_or_default()
        .iter()
        .filter(|t| !new.iter().any(|n| n.key == t.key))
        .map(|t| t.key.clone())
        .collect()
}

/// The properties of one request, consumed property by property.
#[derive(Debug)]
pub struct Props {
    resource_type: &'static str,
    /// For an object inside a list: `Name[2].`, so errors point at the element.
    prefix: String,
    remaining: Map<String, Value>,
    known: Vec<&'static str>,
    /// For a Delete of properties an older release accepted: value rules (and unknown
    /// properties) are not checked, only types, so what the stack owns can still be deleted.
    lenient: bool,
}

impl Props {
    /// `properties` is the event's `ResourceProperties`; absent (null) means none.
    pub fn new(resource_type: &'static str, properties: &Value) -> Result<Self, PropertyError> {
        let remaining = match properties {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            other => {
                return Err(PropertyError {
                    resource_type: resource_type.to_owned(),
                    property: "ResourceProperties".to_owned(),
                    problem: Problem::WrongType {
                        expected: "an object",
                        got: show(other),
                    },
                });
            }
        };
        Ok(Props {
            resource_type,
            prefix: String::new(),
            remaining,
            known: Vec::new(),
            lenient: false,
        })
    }

    /// As [`Props::new`], but checking only what a Delete needs (see `lenient`).
    pub fn lenient(resource_type: &'static str, properties: &Value) -> Result<Self, PropertyError> {
        let mut props = Props::new(resource_type, properties)?;
        props.lenient = true;
        Ok(props)
    }

    /// A value rule that a release tightened: an error, except when decoding leniently.
    pub fn rule(&self, holds: bool, property: &str, problem: Problem) -> Result<(), PropertyError> {
        if holds || self.lenient {
            Ok(())
        } else {
            Err(self.error(property, problem))
        }
    }

    /// A list of objects, each decoded with its own `Props` whose errors name the element,
    /// e.g. `DefaultCapacityProviderStrategy[1].Weight`. Call `finish` on each.
    pub fn optional_object_list(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Vec<Props>>, PropertyError> {
        const EXPECTED: &str = "a list of objects";
        let Some(value) = self.take(name) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(name, EXPECTED, &value));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => Ok(Props {
                    resource_type: self.resource_type,
                    prefix: format!("{}{name}[{index}].", self.prefix),
                    remaining: map,
                    known: Vec::new(),
                    lenient: self.lenient,
                }),
                other => Err(self.wrong_type(name, EXPECTED, &other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn resource_type(&self) -> &'static str {
        self.resource_type
    }

    /// An error about `property`, for checks a resource makes after decoding.
    pub fn error(&self, property: &str, problem: Problem) -> PropertyError {
        error(
            self.resource_type,
            &format!("{}{property}", self.prefix),
            problem,
        )
    }

    /// Takes a property out; `null` counts as absent.
    pub fn take(&mut self, name: &'static str) -> Option<Value> {
        self.known.push(name);
        self.remaining.remove(name).filter(|v| !v.is_null())
    }

    fn wrong_type(&self, name: &str, expected: &'static str, got: &Value) -> PropertyError {
        self.error(
            name,
            Problem::WrongType {
                expected,
                got: show(got),
            },
        )
    }

    pub fn optional_string(&mut self, name: &'static str) -> Result<Option<String>, PropertyError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            // A number or boolean where text is expected is what YAML gives for `Name: 2024`.
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(self.wrong_type(name, "a string", &other)),
        }
    }

    /// A string that must be present and not empty.
    pub fn required_string(&mut self, name: &'static str) -> Result<String, PropertyError> {
        match self.optional_string(name)? {
            None => Err(self.error(name, Problem::Missing)),
            Some(s) if s.trim().is_empty() => Err(self.error(
                name,
                Problem::Invalid {
                    rule: "must not be empty".to_owned(),
                    got: "\"\"".to_owned(),
                },
            )),
            Some(s) => Ok(s),
        }
    }

    /// A string that must satisfy `valid`; `rule` says what is allowed, for the Reason.
    pub fn optional_valid_string(
        &mut self,
        name: &'static str,
        rule: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, PropertyError> {
        match self.optional_string(name)? {
            Some(text) if !self.lenient && !valid(&text) => Err(self.error(
                name,
                Problem::Invalid {
                    rule: rule.to_owned(),
                    got: show(&Value::String(text)),
                },
            )),
            other => Ok(other),
        }
    }

    /// A present, non-empty string that must satisfy `valid`.
    pub fn required_valid_string(
        &mut self,
        name: &'static str,
        rule: &str,
        valid: impl Fn(&str) -> bool,
    ) -> Result<String, PropertyError> {
        let text = self.required_string(name)?;
        if self.lenient || valid(&text) {
            Ok(text)
        } else {
            Err(self.error(
                name,
                Problem::Invalid {
                    rule: rule.to_owned(),
                    got: show(&Value::String(text)),
                },
            ))
        }
    }

    pub fn optional_bool(&mut self, name: &'static str) -> Result<Option<bool>, PropertyError> {
        const EXPECTED: &str = "a boolean (true or false)";
        match self.take(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(self.wrong_type(name, EXPECTED, &other)),
        }
    }

    pub fn optional_int(&mut self, name: &'static str) -> Result<Option<i64>, PropertyError> {
        const EXPECTED: &str = "a whole number";
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(self.wrong_type(name, EXPECTED, &Value::Number(n))),
            },
            Some(Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(i) => Ok(Some(i)),
                Err(_) => Err(self.wrong_type(name, EXPECTED, &Value::String(s))),
            },
            Some(other) => Err(self.wrong_type(name, EXPECTED, &other)),
        }
    }

    /// A whole number within `min..=max`.
    pub fn optional_int_in(
        &mut self,
        name: &'static str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, PropertyError> {
        match self.optional_int(name)? {
            Some(i) if !(min..=max).contains(&i) => Err(self.error(
                name,
                Problem::OutOfRange {
                    min,
                    max,
                    got: i.to_string(),
                },
            )),
            other => Ok(other),
        }
    }

    /// A string that must be one of `allowed` (exact match).
    pub fn optional_choice(
        &mut self,
        name: &'static str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, PropertyError> {
        let Some(value) = self.optional_string(name)? else {
            return Ok(None);
        };
        match allowed.iter().find(|a| **a == value) {
            Some(hit) => Ok(Some(hit)),
            None => Err(self.error(
                name,
                Problem::NotOneOf {
                    allowed: allowed.iter().map(|a| (*a).to_owned()).collect(),
                    got: show(&Value::String(value)),
                },
            )),
        }
    }

    /// A list of strings; scalars inside are accepted as text.
    pub fn optional_string_list(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Vec<String>>, PropertyError> {
        const EXPECTED: &str = "a list of strings";
        match self.take(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.wrong_type(name, EXPECTED, &other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong_type(name, EXPECTED, &other)),
        }
    }

    /// `Tags`: a list of `{Key, Value}`. Keys under `aws:` are AWS's and keys under
    /// `stackhand:` are ours; neither may be set by the user.
    pub fn tags(&mut self) -> Result<Vec<Tag>, PropertyError> {
        const NAME: &str = "Tags";
        const EXPECTED: &str = "a list of {Key, Value}";
        let Some(value) = self.take(NAME) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(self.wrong_type(NAME, EXPECTED, &value));
        };
        let mut tags = Vec::with_capacity(items.len());
        for item in items {
            let (Some(Value::String(key)), Some(value)) = (item.get("Key"), item.get("Value"))
            else {
                return Err(self.wrong_type(NAME, EXPECTED, &item));
            };
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                _ => return Err(self.wrong_type(NAME, EXPECTED, &item)),
            };
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err(self.error(
                    NAME,
                    Problem::Invalid {
                        rule: "keys must be 1 to 128 characters and values at most 256".to_owned(),
                        got: show(&Value::String(key.clone())),
                    },
                ));
            }
            // AWS reserves `aws:` in any letter case.
            if !self.lenient
                && (key.to_ascii_lowercase().starts_with("aws:")
                    || key.starts_with(crate::cfn::TAG_PREFIX))
            {
                return Err(self.error(
                    NAME,
                    Problem::Invalid {
                        rule: format!(
                            "keys starting with aws: or {} are reserved",
                            crate::cfn::TAG_PREFIX
                        ),
                        got: show(&Value::String(key.clone())),
                    },
                ));
            }
            tags.push(Tag {
                key: key.clone(),
                value,
            });
        }
        if tags.len() > MAX_USER_TAGS && !self.lenient {
            return Err(self.error(
                NAME,
                Problem::Invalid {
                    rule: format!(
                        "may hold at most {MAX_USER_TAGS} tags: AWS allows 50 per resource and \
                         stackhand keeps {} for its own (owner record, severity, runbook, \
                         rotation, retention)",
                        AWS_MAX_TAGS - MAX_USER_TAGS
                    ),
                    got: format!("{} tags", tags.len()),
                },
            ));
        }
        Ok(tags)
    }

    /// Fails on the first property that no decoder took.
    pub fn finish(self) -> Result<(), PropertyError> {
        if self.lenient {
            return Ok(());
        }
        let unknown = self
            .remaining
            .keys()
            .find(|k| !IGNORED.contains(&k.as_str()));
        match unknown {
            None => Ok(()),
            Some(name) => {
                let mut allowed: Vec<String> = self.known.iter().map(|k| (*k).to_owned()).collect();
                allowed.sort();
                allowed.dedup();
                Err(self.error(
                    &truncate_chars(name, MAX_SHOWN_VALUE),
                    Problem::Unknown { allowed },
                ))
            }
        }
    }
}

/// How many tags AWS allows on one resource (KMS, Logs, CloudWatch, ECS and SNS alike).
pub const AWS_MAX_TAGS: usize = 50;
/// How many of them a user may give: stackhand adds at most 10 of its own (the five of the owner
/// record, severity, runbook or the key-rotation pair, `stackhand:replaces`, retained-at).
pub const MAX_USER_TAGS: usize = 40;

fn error(resource_type: &str, property: &str, problem: Problem) -> PropertyError {
    PropertyError {
        resource_type: resource_type.to_owned(),
        property: property.to_owned(),
        problem,
    }
}

#[cfg(test)]
#[path = "props_tests.rs"]
mod tests;
