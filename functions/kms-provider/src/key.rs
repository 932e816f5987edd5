//! `Custom::KmsKey` properties: decoded, checked against what KMS allows, and resolved against
//! the environment profile, before any call is made.

use crate::grants::{self, GrantSpec};
use crate::policy::{self, KeyPolicy};
use crate::spec::{KEY_SPECS, KEY_USAGES, can_rotate, usages_for};
use serde_json::Value;
use shared::props::show;
use shared::{Environment, Problem, PropertyError, Props, Tag};

pub const TYPE: &str = "Custom::KmsKey";

/// The attributes every successful Create and Update returns (`Fn::GetAtt`).
pub const ATTRIBUTES: [&str; 6] = [
    "KeyId",
    "Arn",
    "AliasNames",
    "RotationEnabled",
    "ReplicaArns",
    shared::cost::ATTRIBUTE,
];

pub const ROTATION_PERIOD_DAYS: (i64, i64) = (
    *shared::key_tags::ROTATION_PERIOD_DAYS.start(),
    *shared::key_tags::ROTATION_PERIOD_DAYS.end(),
);
pub const DEFAULT_ROTATION_PERIOD_DAYS: i32 = 365;
pub const PENDING_WINDOW_DAYS: (i64, i64) = (7, 30);
const MAX_DESCRIPTION: usize = 8192;

pub use shared::key_tags::{ROTATION_OFF, TAG_ROTATE_EVERY, TAG_ROTATION_PERIOD};

/// Final values: explicit properties, or the profile's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyProps {
    pub environment: Environment,
    pub description: String,
    pub key_spec: &'static str,
    pub key_usage: &'static str,
    /// The automatic rotation period, when rotation is on.
    pub rotation_period_days: Option<i32>,
    pub on_demand_interval_days: Option<i32>,
    pub multi_region: bool,
    pub replica_regions: Vec<String>,
    /// Full names, `alias/<name>`.
    pub aliases: Vec<String>,
    pub policy: KeyPolicy,
    pub grants: Vec<GrantSpec>,
    pub pending_window_days: i32,
    pub retain_on_delete: bool,
    pub enabled: bool,
    pub tags: Vec<Tag>,
}

impl KeyProps {
    /// Changing any of these creates a new key.
    pub fn replacement_differs(&self, other: &KeyProps) -> bool {
        (self.key_spec, self.key_usage, self.multi_region)
            != (other.key_spec, other.key_usage, other.multi_region)
    }

    /// What the key makes that is billed monthly: the key and each replica.
    pub fn billed(&self) -> shared::cost::Billed {
        shared::cost::Billed {
            kms_keys: 1 + self.replica_regions.len() as u32,
            ..Default::default()
        }
    }

    /// The tags stackhand derives from properties, beside the user's own.
    pub fn derived_tags(&self) -> Vec<(&'static str, String)> {
        let mut tags = Vec::new();
        match self.rotation_period_days {
            Some(days) => tags.push((TAG_ROTATION_PERIOD, days.to_string())),
            // Turned off on purpose: key-rotator leaves it off (the auditor still reports it).
            None if can_rotate(self.key_spec) => {
                tags.push((TAG_ROTATION_PERIOD, ROTATION_OFF.to_owned()))
            }
            None => {}
        }
        if let Some(days) = self.on_demand_interval_days {
            tags.push((TAG_ROTATE_EVERY, days.to_string()));
        }
        tags
    }
}

/// `alias/<name>`: letters, digits, '/', '_' and '-', at most 256 characters in all.
pub fn is_alias_name(full: &str) -> bool {
    full.strip_prefix("alias/").is_some_and(|name| {
        !name.is_empty()
            && full.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    })
}

/// `us-east-1`, `ap-southeast-2`, `us-gov-west-1`.
pub fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn invalid(props: &Props, name: &str, rule: impl Into<String>, got: String) -> PropertyError {
    props.error(
        name,
        Problem::Invalid {
            rule: rule.into(),
            got,
        },
    )
}

fn decode_aliases(props: &mut Props) -> Result<Vec<String>, PropertyError> {
    const NAME: &str = "Aliases";
    let mut aliases: Vec<String> = Vec::new();
    for given in props.optional_string_list(NAME)?.unwrap_or_default() {
        let full = if given.starts_with("alias/") {
            given.clone()
        } else {
            format!("alias/{given}")
        };
        let got = show(&Value::String(given));
        if full.starts_with("alias/aws/") {
            return Err(invalid(
                props,
                NAME,
                "must not start with alias/aws/, which AWS reserves for AWS managed keys",
                got,
            ));
        }
        if !is_alias_name(&full) {
            return Err(invalid(
                props,
                NAME,
                "must be names of letters, digits, '/', '_' and '-' (alias/ optional), at most 256 characters",
                got,
            ));
        }
        if aliases.contains(&full) {
            return Err(invalid(props, NAME, "must not repeat a name", got));
        }
        aliases.push(full);
    }
    let characters: usize = aliases.iter().map(String::len).sum();
    props.rule(
        aliases.len() <= MAX_ALIASES && characters <= MAX_ALIAS_CHARACTERS,
        NAME,
        Problem::Invalid {
            rule: format!(
                "may hold at most {MAX_ALIASES} names of at most {MAX_ALIAS_CHARACTERS} characters \
                 together, so that AliasNames fits CloudFormation's 4,096-byte response"
            ),
            got: format!("{} names, {characters} characters", aliases.len()),
        },
    )?;
    Ok(aliases)
}

/// Bounds that keep the attributes (`AliasNames`, `ReplicaArns`) within the response by design.
pub const MAX_ALIASES: usize = 10;
pub const MAX_ALIAS_CHARACTERS: usize = 1200;
pub const MAX_REPLICA_REGIONS: usize = 10;

fn decode_spec(props: &mut Props) -> Result<(&'static str, &'static str), PropertyError> {
    let spec = props
        .optional_choice("KeySpec", &KEY_SPECS)?
        .unwrap_or("SYMMETRIC_DEFAULT");
    let allowed = usages_for(spec);
    let usage = match props.optional_choice("KeyUsage", &KEY_USAGES)? {
        Some(usage) if !allowed.contains(&usage) => {
            return Err(invalid(
                props,
                "KeyUsage",
                format!("with KeySpec {spec} must be one of {}", allowed.join(", ")),
                show(&Value::String(usage.to_owned())),
            ));
        }
        Some(usage) => usage,
        None => allowed.first().copied().unwrap_or("ENCRYPT_DECRYPT"),
    };
    Ok((spec, usage))
}

/// Rotation settings: automatic rotation defaults to on where the spec allows it.
fn decode_rotation(
    props: &mut Props,
    spec: &str,
) -> Result<(Option<i32>, Option<i32>), PropertyError> {
    let rotatable = can_rotate(spec);
    let enable = props.optional_bool("EnableKeyRotation")?;
    if enable == Some(true) && !rotatable {
        return Err(invalid(
            props,
            "EnableKeyRotation",
            format!(
                "can be true only for KeySpec SYMMETRIC_DEFAULT (KMS rotates symmetric encryption keys only); KeySpec is {spec}"
            ),
            "true".to_owned(),
        ));
    }
    let enabled = enable.unwrap_or(rotatable);
    let (min, max) = ROTATION_PERIOD_DAYS;
    let period = props.optional_int_in("RotationPeriodInDays", min, max)?;
    if period.is_some() && !enabled {
        return Err(props.error(
            "RotationPeriodInDays",
            Problem::OnlyWith("EnableKeyRotation true".to_owned()),
        ));
    }
    let on_demand = props.optional_int_in(
        "OnDemandRotationIntervalDays",
        *shared::key_tags::ON_DEMAND_INTERVAL_DAYS.start(),
        *shared::key_tags::ON_DEMAND_INTERVAL_DAYS.end(),
    )?;
    if on_demand.is_some() && !rotatable {
        return Err(props.error(
            "OnDemandRotationIntervalDays",
            Problem::OnlyWith(format!(
                "KeySpec SYMMETRIC_DEFAULT (KMS rotates symmetric encryption keys only); KeySpec is {spec}"
            )),
        ));
    }
    // Both bounds fit an i32.
    let period = enabled.then(|| period.map_or(DEFAULT_ROTATION_PERIOD_DAYS, |p| p as i32));
    Ok((period, on_demand.map(|d| d as i32)))
}

fn decode_replicas(props: &mut Props, multi_region: bool) -> Result<Vec<String>, PropertyError> {
    const NAME: &str = "ReplicaRegions";
    let regions = props.optional_string_list(NAME)?.unwrap_or_default();
    if !regions.is_empty() && !multi_region {
        return Err(props.error(NAME, Problem::OnlyWith("MultiRegion true".to_owned())));
    }
    let mut seen: Vec<String> = Vec::new();
    for region in regions {
        let got = show(&Value::String(region.clone()));
        if !is_region(&region) {
            return Err(invalid(
                props,
                NAME,
                "must be Region names such as eu-west-1",
                got,
            ));
        }
        if seen.contains(&region) {
            return Err(invalid(props, NAME, "must not repeat a Region", got));
        }
        seen.push(region);
    }
    props.rule(
        seen.len() <= MAX_REPLICA_REGIONS,
        NAME,
        Problem::Invalid {
            rule: format!(
                "may name at most {MAX_REPLICA_REGIONS} Regions, so that ReplicaArns fits \
                 CloudFormation's 4,096-byte response"
            ),
            got: format!("{} Regions", seen.len()),
        },
    )?;
    Ok(seen)
}

pub fn decode(props: &mut Props) -> Result<KeyProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let profile = environment.profile();
    let description = props.optional_string("Description")?.unwrap_or_default();
    if description.len() > MAX_DESCRIPTION {
        return Err(invalid(
            props,
            "Description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
            format!("{} characters", description.len()),
        ));
    }
    let (key_spec, key_usage) = decode_spec(props)?;
    let (rotation_period_days, on_demand_interval_days) = decode_rotation(props, key_spec)?;
    let multi_region = props.optional_bool("MultiRegion")?.unwrap_or(false);
    let replica_regions = decode_replicas(props, multi_region)?;
    let aliases = decode_aliases(props)?;
    let policy = policy::decode(props)?;
    let grants = grants::decode(props, key_spec, key_usage)?;
    let (min, max) = PENDING_WINDOW_DAYS;
    // Both bounds fit an i32.
    let pending_window_days = props
        .optional_int_in("PendingWindowInDays", min, max)?
        .map_or(profile.kms_pending_window_days, |d| d as i32);
    let retain_on_delete = props
        .optional_bool("RetainOnDelete")?
        .unwrap_or(profile.retain_on_delete);
    let enabled = props.optional_bool("Enabled")?.unwrap_or(true);
    let tags = props.tags()?;
    Ok(KeyProps {
        environment,
        description,
        key_spec,
        key_usage,
        rotation_period_days,
        on_demand_interval_days,
        multi_region,
        replica_regions,
        aliases,
        policy,
        grants,
        pending_window_days,
        retain_on_delete,
        enabled,
        tags,
    })
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
