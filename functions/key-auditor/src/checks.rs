//! The audit's checks (docs/functions.md, key-auditor), judged from what KMS said about one key. Pure, so each
//! rule, and each case where a check must stay silent, is unit-tested.

use aws_sdk_kms::types::{KeyMetadata, KeyState};
use serde::Serialize;
use serde_json::Value;
use shared::key_policy::{principals, public_statements, statements};
use shared::kms_scan::rotation_eligibility;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    RotationDisabled,
    PublicKeyPolicy,
    BroadKeyAccess,
    PendingDeletion,
    DisabledKey,
    MultiRegionKey,
    MissingAlias,
    MissingRequiredTags,
    UnusedKey,
    CrossAccountAccess,
    ExternalGrant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Check {
    pub const ALL: [Check; 11] = [
        Check::RotationDisabled,
        Check::PublicKeyPolicy,
        Check::BroadKeyAccess,
        Check::PendingDeletion,
        Check::DisabledKey,
        Check::MultiRegionKey,
        Check::MissingAlias,
        Check::MissingRequiredTags,
        Check::UnusedKey,
        Check::CrossAccountAccess,
        Check::ExternalGrant,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::RotationDisabled => "rotation-disabled",
            Check::PublicKeyPolicy => "public-key-policy",
            Check::BroadKeyAccess => "broad-key-access",
            Check::PendingDeletion => "pending-deletion",
            Check::DisabledKey => "disabled-key",
            Check::MultiRegionKey => "multi-region-key",
            Check::MissingAlias => "missing-alias",
            Check::MissingRequiredTags => "missing-required-tags",
            Check::UnusedKey => "unused-key",
            Check::CrossAccountAccess => "cross-account-access",
            Check::ExternalGrant => "external-grant",
        }
    }

    /// What to do about it, in a sentence (Security Hub's remediation text).
    pub fn remedy(self) -> &'static str {
        match self {
            Check::RotationDisabled => {
                "Turn on automatic rotation (EnableKeyRotation), or the KmsKey profile's rotation."
            }
            Check::PublicKeyPolicy => {
                "Restrict the Allow statement to named principals, or add a condition such as aws:PrincipalOrgID or kms:CallerAccount."
            }
            Check::BroadKeyAccess => {
                "Grant the principal only the kms: actions it uses, not kms:* or *."
            }
            Check::PendingDeletion => {
                "Cancel the deletion (CancelKeyDeletion) if anything still decrypts with this key."
            }
            Check::DisabledKey => "Enable the key if it is still needed, or schedule its deletion.",
            Check::MultiRegionKey => {
                "Confirm the key must be multi-Region; a single-Region key keeps its material in one Region."
            }
            Check::MissingAlias => "Give the key an alias that says what it protects.",
            Check::MissingRequiredTags => "Tag the key with every key the organization requires.",
            Check::UnusedKey => "Disable or schedule the deletion of a key nothing uses.",
            Check::CrossAccountAccess => {
                "Remove the other account's principal from the key policy, or add the account to the trusted list."
            }
            Check::ExternalGrant => {
                "Retire or revoke the grant, or add the account to the trusted list."
            }
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Check::PublicKeyPolicy | Check::PendingDeletion => Severity::Critical,
            Check::RotationDisabled
            | Check::BroadKeyAccess
            | Check::CrossAccountAccess
            | Check::ExternalGrant => Severity::High,
            Check::MultiRegionKey | Check::UnusedKey => Severity::Medium,
            Check::DisabledKey | Check::MissingAlias | Check::MissingRequiredTags => Severity::Low,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub key_id: String,
    pub arn: String,
    pub check: Check,
    pub severity: Severity,
    pub detail: String,
}

/// What the auditor read about one customer-managed key.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    pub key: KeyMetadata,
    /// `None` when the key cannot rotate, so rotation was not asked.
    pub rotation_enabled: Option<bool>,
    pub policy: Option<Value>,
    pub aliases: Vec<String>,
    /// `None` when no tags are required, so they were not read.
    pub tags: Option<BTreeMap<String, String>>,
    /// GetKeyLastUsage's answer; `None` for a key that is not Enabled (not asked).
    pub last_usage: Option<LastUsage>,
    pub grants: Vec<GrantFacts>,
}

/// When the key was last used, in seconds since the epoch, as GetKeyLastUsage tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUsage {
    /// The last successful cryptographic operation since tracking started: (when, operation).
    pub used: Option<(i64, String)>,
    pub tracking_start: i64,
    pub created: i64,
}

/// A grant on the key: who may use it, and who may retire it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantFacts {
    pub name: String,
    pub grantee: String,
    pub retiring: Option<String>,
}

/// What a run judges against besides the key: the settings and the time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rules {
    pub required_tags: Vec<String>,
    /// Accounts besides the key's own that may hold access (the Organization's, partners').
    pub trusted_accounts: Vec<String>,
    pub unused_days: i64,
    /// Seconds since the epoch.
    pub now: i64,
}

fn date(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map(|d| d.get(..10).unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// No use in `days`: never from usage newer than that, and never when tracking started within
/// the window (a use before tracking began is not on record, so the key cannot be called unused).
pub fn unused(usage: &LastUsage, now: i64, days: i64) -> Option<String> {
    let cutoff = now - days * 86_400;
    match &usage.used {
        Some((at, _)) if *at >= cutoff => None,
        Some((at, operation)) => Some(format!(
            "last used on {} ({operation}), more than {days} days ago",
            date(*at)
        )),
        None if usage.tracking_start > cutoff => None,
        None if usage.created >= usage.tracking_start => Some(format!(
            "never used since it was made on {}",
            date(usage.created)
        )),
        None => Some(format!(
            "no use recorded since tracking started on {}",
            date(usage.tracking_start)
        )),
    }
}

/// The account a principal belongs to: a bare account id, or the account of an IAM or STS ARN;
/// `None` for service principals and `*`.
pub fn principal_account(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        return Some(principal);
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam" | "sts", "", account, _]
            if account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) =>
        {
            Some(account)
        }
        _ => None,
    }
}

fn outside<'a>(principal: &'a str, own: &str, trusted: &[String]) -> Option<&'a str> {
    principal_account(principal).filter(|a| *a != own && !trusted.iter().any(|t| t == a))
}

/// Whether rotation must be asked about: only keys KMS can rotate, so asymmetric, HMAC,
/// imported and custom-key-store keys never get `rotation-disabled`.
pub fn rotation_applies(key: &KeyMetadata) -> bool {
    rotation_eligibility(key).is_ok()
}

fn actions(statement: &Value) -> Vec<&str> {
    match statement.get("Action") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_account_root(principal: &str, account: &str) -> bool {
    principal == account || {
        let parts: Vec<&str> = principal.split(':').collect();
        matches!(parts.as_slice(), ["arn", _, "iam", "", a, "root"] if *a == account)
    }
}

/// Allow statements granting every KMS action to someone other than the key's account root.
fn broad_grants(policy: &Value, account: &str) -> Vec<String> {
    statements(policy)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .filter(|(_, s)| {
            actions(s)
                .iter()
                .any(|a| *a == "*" || a.eq_ignore_ascii_case("kms:*"))
        })
        .flat_map(|(index, s)| {
            principals(s)
                .into_iter()
                .filter(|p| !is_account_root(p, account))
                .map(move |p| format!("Statement[{index}] grants kms:* to {p}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn judge(facts: &KeyFacts, rules: &Rules) -> Vec<Finding> {
    let required_tags = &rules.required_tags;
    let key = &facts.key;
    let account = key.aws_account_id().unwrap_or_default();
    let mut found: Vec<(Check, String)> = Vec::new();
    if facts.rotation_enabled == Some(false) {
        found.push((
            Check::RotationDisabled,
            "automatic key rotation is off".to_owned(),
        ));
    }
    if let Some(policy) = &facts.policy {
        for index in public_statements(policy) {
            found.push((
                Check::PublicKeyPolicy,
                format!("Statement[{index}] allows everyone with no restricting condition"),
            ));
        }
        for grant in broad_grants(policy, account) {
            found.push((Check::BroadKeyAccess, grant));
        }
        let allows = statements(policy)
            .into_iter()
            .enumerate()
            .filter(|(_, s)| s.get("Effect").and_then(Value::as_str) == Some("Allow"));
        for (index, statement) in allows {
            for principal in principals(statement) {
                if let Some(other) = outside(principal, account, &rules.trusted_accounts) {
                    found.push((
                        Check::CrossAccountAccess,
                        format!(
                            "Statement[{index}] allows {principal}, of account {other}, outside this account and the trusted ones"
                        ),
                    ));
                }
            }
        }
    }
    for grant in &facts.grants {
        let holders = std::iter::once(("grantee", grant.grantee.as_str()))
            .chain(grant.retiring.as_deref().map(|r| ("retiring principal", r)));
        for (role, principal) in holders {
            if let Some(other) = outside(principal, account, &rules.trusted_accounts) {
                found.push((
                    Check::ExternalGrant,
                    format!(
                        "grant {} has {role} {principal}, of account {other}, outside this account and the trusted ones",
                        grant.name
                    ),
                ));
            }
        }
    }
    if let Some(detail) = facts
        .last_usage
        .as_ref()
        .and_then(|usage| unused(usage, rules.now, rules.unused_days))
    {
        found.push((Check::UnusedKey, detail));
    }
    match key.key_state() {
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => {
            let when = key
                .deletion_date()
                .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_else(|| "a date KMS did not give".to_owned());
            found.push((
                Check::PendingDeletion,
                format!("scheduled for deletion on {when}"),
            ));
        }
        Some(KeyState::Disabled) => {
            found.push((Check::DisabledKey, "the key is disabled".to_owned()))
        }
        _ => {}
    }
    if key.multi_region() == Some(true) {
        let kind = key
            .multi_region_configuration()
            .and_then(|c| c.multi_region_key_type())
            .map_or("multi-Region", |t| t.as_str());
        found.push((
            Check::MultiRegionKey,
            format!("{kind} multi-Region key: its material is shared with other Regions"),
        ));
    }
    if facts.aliases.is_empty() {
        found.push((Check::MissingAlias, "the key has no alias".to_owned()));
    }
    if let Some(tags) = &facts.tags {
        let missing: Vec<&str> = required_tags
            .iter()
            .filter(|t| !tags.contains_key(*t))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            found.push((
                Check::MissingRequiredTags,
                format!("missing tags: {}", missing.join(", ")),
            ));
        }
    }
    found
        .into_iter()
        .map(|(check, detail)| Finding {
            key_id: key.key_id().to_owned(),
            arn: key.arn().unwrap_or_default().to_owned(),
            check,
            severity: check.severity(),
            detail,
        })
        .collect()
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
