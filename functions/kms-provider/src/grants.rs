//! `Grants`: decoded against the key's spec and usage, and reconciled by name. Only grants this
//! key's properties name are managed; grants AWS services create for themselves are left alone.

use crate::spec::{GRANT_OPERATIONS, grant_operations_for, is_symmetric};
use serde_json::Value;
use shared::props::show;
use shared::{Problem, PropertyError, Props};
use std::collections::BTreeMap;

/// KMS allows at most this many pairs in an encryption-context constraint.
const MAX_CONTEXT_PAIRS: usize = 8;
const MAX_CONTEXT_VALUE: usize = 384;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    None,
    Subset(BTreeMap<String, String>),
    Equals(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    pub name: String,
    pub grantee: String,
    /// Sorted, so two specs compare equal whatever order the template used.
    pub operations: Vec<String>,
    pub retiring: Option<String>,
    pub constraint: Constraint,
}

fn is_grant_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'))
}

fn is_grantee(text: &str) -> bool {
    crate::policy::is_principal(text) || crate::policy::is_service_principal(text)
}

fn context(
    item: &mut Props,
    name: &'static str,
) -> Result<Option<BTreeMap<String, String>>, PropertyError> {
    let Some(value) = item.take(name) else {
        return Ok(None);
    };
    let wrong = |item: &Props, got: &Value| {
        item.error(
            name,
            Problem::WrongType {
                expected: "an object of string values",
                got: show(got),
            },
        )
    };
    let Value::Object(map) = &value else {
        return Err(wrong(item, &value));
    };
    let mut pairs = BTreeMap::new();
    for (key, v) in map {
        let Value::String(text) = v else {
            return Err(wrong(item, v));
        };
        if text.len() > MAX_CONTEXT_VALUE {
            return Err(item.error(
                name,
                Problem::Invalid {
                    rule: format!("values must be at most {MAX_CONTEXT_VALUE} characters"),
                    got: format!("{} characters in {key}", text.len()),
                },
            ));
        }
        pairs.insert(key.clone(), text.clone());
    }
    if pairs.is_empty() || pairs.len() > MAX_CONTEXT_PAIRS {
        return Err(item.error(
            name,
            Problem::Invalid {
                rule: format!("must hold 1 to {MAX_CONTEXT_PAIRS} pairs"),
                got: pairs.len().to_string(),
            },
        ));
    }
    Ok(Some(pairs))
}

fn decode_one(mut item: Props, spec: &str, usage: &str) -> Result<GrantSpec, PropertyError> {
    let name = item.required_valid_string(
        "Name",
        "must be 1 to 256 characters of a-z, A-Z, 0-9, ':', '/', '_' and '-'",
        is_grant_name,
    )?;
    let grantee = item.required_valid_string(
        "GranteePrincipal",
        "must be an IAM principal ARN, an account id or an AWS service principal, without wildcards",
        is_grantee,
    )?;
    let retiring = item.optional_valid_string(
        "RetiringPrincipal",
        "must be an IAM principal ARN, an account id or an AWS service principal, without wildcards",
        is_grantee,
    )?;
    let Some(operations) = item.optional_string_list("Operations")? else {
        return Err(item.error("Operations", Problem::Missing));
    };
    if operations.is_empty() {
        return Err(item.error(
            "Operations",
            Problem::Invalid {
                rule: "must name at least one operation".to_owned(),
                got: "an empty list".to_owned(),
            },
        ));
    }
    let allowed = grant_operations_for(spec, usage);
    for op in &operations {
        if !GRANT_OPERATIONS.contains(&op.as_str()) {
            return Err(item.error(
                "Operations",
                Problem::NotOneOf {
                    allowed: GRANT_OPERATIONS.iter().map(|o| (*o).to_owned()).collect(),
                    got: show(&Value::String(op.clone())),
                },
            ));
        }
        if !allowed.contains(&op.as_str()) {
            return Err(item.error(
                "Operations",
                Problem::Invalid {
                    rule: format!(
                        "with KeySpec {spec} and KeyUsage {usage} may only hold {}",
                        allowed.join(", ")
                    ),
                    got: show(&Value::String(op.clone())),
                },
            ));
        }
    }
    let subset = context(&mut item, "EncryptionContextSubset")?;
    let equals = context(&mut item, "EncryptionContextEquals")?;
    let constraint = match (subset, equals) {
        (Some(_), Some(_)) => {
            return Err(item.error(
                "EncryptionContextSubset",
                Problem::Conflict {
                    other: "EncryptionContextEquals".to_owned(),
                },
            ));
        }
        (Some(pairs), None) => Constraint::Subset(pairs),
        (None, Some(pairs)) => Constraint::Equals(pairs),
        (None, None) => Constraint::None,
    };
    if constraint != Constraint::None && !is_symmetric(spec) {
        let property = match constraint {
            Constraint::Equals(_) => "EncryptionContextEquals",
            _ => "EncryptionContextSubset",
        };
        return Err(item.error(
            property,
            Problem::OnlyWith(format!(
                "KeySpec SYMMETRIC_DEFAULT (other keys take no encryption context); KeySpec is {spec}"
            )),
        ));
    }
    item.finish()?;
    let mut operations = operations;
    operations.sort();
    operations.dedup();
    Ok(GrantSpec {
        name,
        grantee,
        operations,
        retiring,
        constraint,
    })
}

pub fn decode(props: &mut Props, spec: &str, usage: &str) -> Result<Vec<GrantSpec>, PropertyError> {
    let Some(items) = props.optional_object_list("Grants")? else {
        return Ok(Vec::new());
    };
    let mut grants: Vec<GrantSpec> = Vec::with_capacity(items.len());
    for item in items {
        let grant = decode_one(item, spec, usage)?;
        if grants.iter().any(|g| g.name == grant.name) {
            return Err(props.error(
                "Grants",
                Problem::Invalid {
                    rule: "must give each grant a different Name".to_owned(),
                    got: show(&Value::String(grant.name)),
                },
            ));
        }
        grants.push(grant);
    }
    Ok(grants)
}

/// A grant that exists on the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveGrant {
    pub id: String,
    pub spec: GrantSpec,
}

/// What an Update does to the key's grants.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GrantPlan {
    pub create: Vec<GrantSpec>,
    /// Grant ids to revoke: removed from the properties, or changed (grants cannot be edited).
    pub revoke: Vec<String>,
}

/// Grants are immutable, so a changed grant is revoked and created again. A live grant is ours
/// to revoke only if its name is wanted now or was wanted before (`old_names`).
pub fn plan(wanted: &[GrantSpec], live: &[LiveGrant], old_names: &[String]) -> GrantPlan {
    let mut plan = GrantPlan::default();
    for grant in live {
        let managed = wanted.iter().any(|w| w.name == grant.spec.name)
            || old_names.contains(&grant.spec.name);
        let still_wanted = wanted.contains(&grant.spec);
        if managed && !still_wanted {
            plan.revoke.push(grant.id.clone());
        }
    }
    for grant in wanted {
        if !live.iter().any(|l| &l.spec == grant) {
            plan.create.push(grant.clone());
        }
    }
    plan
}
