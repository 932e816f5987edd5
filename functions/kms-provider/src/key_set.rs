//! `Custom::KmsKeySet`: the environment profile's keys, each with the policy its purpose needs
//! (docs/contract.md, profiles), built as ordinary key properties so every key follows the same lifecycle.

use crate::key::{DEFAULT_ROTATION_PERIOD_DAYS, KeyProps, PENDING_WINDOW_DAYS, is_alias_name};
use crate::policy::{self, KeyContext, KeyPolicy, Personas};
use serde_json::{Value, json};
use shared::cfn::TAG_PREFIX;
use shared::{Environment, PropertyError, Props, Tag};

pub const TYPE: &str = "Custom::KmsKeySet";
pub const PHYSICAL_ID_PREFIX: &str = "keyset/";

/// Every key name any profile uses, for lookups that must not miss one.
pub const ALL_KEY_NAMES: [&str; 5] = ["main", "data", "rds", "s3", "ebs"];

/// Which set and key a member belongs to, on each member key.
pub const TAG_KEY_SET: &str = "stackhand:key-set";

#[derive(Debug, Clone, PartialEq)]
pub struct KeySetProps {
    pub environment: Environment,
    pub prefix: String,
    pub administrators: Vec<String>,
    pub users: Vec<String>,
    pub pending_window_days: i32,
    pub retain_on_delete: bool,
    pub tags: Vec<Tag>,
}

impl KeySetProps {
    pub fn physical_id(&self) -> String {
        format!("{PHYSICAL_ID_PREFIX}{}", self.prefix)
    }

    pub fn key_names(&self) -> &'static [&'static str] {
        self.environment.profile().key_set
    }

    /// Each of the environment's keys is billed monthly.
    pub fn billed(&self) -> shared::cost::Billed {
        shared::cost::Billed {
            kms_keys: self.key_names().len() as u32,
            ..Default::default()
        }
    }

    pub fn alias(&self, name: &str) -> String {
        format!("alias/{}-{name}", self.prefix)
    }
}

/// `Main`, `Rds`, `S3`: the attribute stem for a key name.
pub fn attribute_stem(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub fn decode(props: &mut Props) -> Result<KeySetProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let profile = environment.profile();
    let prefix = props.required_valid_string(
        "Prefix",
        "must be letters, digits, '/', '_' and '-', short enough for alias/<Prefix>-main",
        |p| is_alias_name(&format!("alias/{p}-main")) && !p.starts_with("aws/"),
    )?;
    let administrators = policy::principals(props, "KeyAdministrators")?;
    let users = policy::principals(props, "KeyUsers")?;
    let (min, max) = PENDING_WINDOW_DAYS;
    Ok(KeySetProps {
        environment,
        prefix,
        administrators,
        users,
        // Both bounds fit an i32.
        pending_window_days: props
            .optional_int_in("PendingWindowInDays", min, max)?
            .map_or(profile.kms_pending_window_days, |d| d as i32),
        retain_on_delete: props
            .optional_bool("RetainOnDelete")?
            .unwrap_or(profile.retain_on_delete),
        tags: props.tags()?,
    })
}

/// The purpose-specific part of each key's policy (docs/contract.md, profiles).
fn purpose(name: &str, ctx: &KeyContext) -> (Vec<String>, Vec<Value>, &'static str) {
    match name {
        "main" => {
            let logs = json!({
                "Sid": "CloudWatchLogsForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": format!("logs.{}.amazonaws.com", ctx.region)},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                    format!("arn:{}:logs:{}:{}:log-group:*", ctx.partition, ctx.region, ctx.account)}}
            });
            let alarms = json!({
                "Sid": "EncryptedAlarmTopics",
                "Effect": "Allow",
                "Principal": {"Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account}}
            });
            (
                Vec::new(),
                vec![logs, alarms],
                "logs, SNS topics and ECS Exec sessions",
            )
        }
        "data" => (
            vec!["rds".into(), "s3".into(), "ec2".into()],
            Vec::new(),
            "RDS, S3 and EBS data",
        ),
        "rds" => (vec!["rds".into()], Vec::new(), "RDS data"),
        "s3" => (vec!["s3".into()], Vec::new(), "S3 data"),
        "ebs" => (vec!["ec2".into()], Vec::new(), "EBS volumes"),
        _ => (Vec::new(), Vec::new(), "general use"),
    }
}

/// The key properties of one member of the set.
pub fn member(set: &KeySetProps, name: &str, ctx: &KeyContext) -> KeyProps {
    let (via_services, extra, used_for) = purpose(name, ctx);
    let mut tags = set.tags.clone();
    tags.push(Tag {
        key: TAG_KEY_SET.to_owned(),
        value: format!("{}/{name}", set.prefix),
    });
    debug_assert!(TAG_KEY_SET.starts_with(TAG_PREFIX));
    KeyProps {
        environment: set.environment,
        description: format!(
            "{} {name} key: {used_for} ({})",
            set.prefix, set.environment
        ),
        key_spec: "SYMMETRIC_DEFAULT",
        key_usage: "ENCRYPT_DECRYPT",
        rotation_period_days: Some(DEFAULT_ROTATION_PERIOD_DAYS),
        on_demand_interval_days: None,
        multi_region: false,
        replica_regions: Vec::new(),
        aliases: vec![set.alias(name)],
        policy: KeyPolicy::Personas(Personas {
            administrators: set.administrators.clone(),
            users: set.users.clone(),
            service_principals: Vec::new(),
            via_services,
            extra,
        }),
        grants: Vec::new(),
        pending_window_days: set.pending_window_days,
        retain_on_delete: set.retain_on_delete,
        enabled: true,
        tags,
    }
}

#[cfg(test)]
#[path = "key_set_tests.rs"]
mod tests;
