//! `Custom::LogGroup`: a CloudWatch Logs group whose retention, encryption and fate on Delete
//! come from the environment profile. Decoding and the Update plan (pure); the Logs calls are
//! in `log_groups.rs`.

use shared::plan::{Plan, shown, tag_change};
use shared::props::{KMS_KEY_ARN_RULE, LOG_GROUP_NAME_RULE, is_kms_key_arn, is_log_group_name};
use shared::{Environment, Problem, PropertyError, Props, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::LogGroup";

/// The attributes every successful Create and Update returns (`Fn::GetAtt`).
pub const ATTRIBUTES: [&str; 2] = ["Arn", "LogGroupName"];

/// The values CloudWatch Logs accepts for RetentionInDays.
pub const RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupProps {
    pub environment: Environment,
    pub log_group_name: String,
    pub retention_in_days: Option<i32>,
    pub kms_key_arn: Option<String>,
    pub retain_on_delete: Option<bool>,
    pub tags: Vec<Tag>,
}

impl LogGroupProps {
    /// The retention to apply: the property, or the profile's default.
    pub fn retention(&self) -> i32 {
        self.retention_in_days
            .unwrap_or(self.environment.profile().log_retention_days)
    }

    /// Whether Delete keeps the group: the property, or the profile's default.
    pub fn retain(&self) -> bool {
        self.retain_on_delete
            .unwrap_or(self.environment.profile().retain_on_delete)
    }
}

pub fn decode(props: &mut Props) -> Result<LogGroupProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let log_group_name =
        props.required_valid_string("LogGroupName", LOG_GROUP_NAME_RULE, is_log_group_name)?;
    // AWS keeps names starting `aws/` for its own services.
    props.rule(
        !log_group_name.starts_with("aws/"),
        "LogGroupName",
        Problem::Invalid {
            rule: "must not start with aws/ (reserved for AWS services)".to_owned(),
            got: format!("\"{log_group_name}\""),
        },
    )?;
    let retention_in_days = match props.optional_int("RetentionInDays")? {
        Some(days) if !RETENTION_DAYS.contains(&days) => {
            return Err(props.error(
                "RetentionInDays",
                Problem::NotOneOf {
                    allowed: RETENTION_DAYS.iter().map(i64::to_string).collect(),
                    got: days.to_string(),
                },
            ));
        }
        // Every allowed value fits an i32.
        days => days.map(|d| d as i32),
    };
    let kms_key_arn = props.optional_valid_string("KmsKeyArn", KMS_KEY_ARN_RULE, is_kms_key_arn)?;
    if kms_key_arn.is_none() && environment.profile().encryption_required {
        return Err(props.error(
            "KmsKeyArn",
            Problem::RequiredWhen(format!(
                "Environment is {environment}: that profile requires log encryption with KMS"
            )),
        ));
    }
    let retain_on_delete = props.optional_bool("RetainOnDelete")?;
    let tags = props.tags()?;
    Ok(LogGroupProps {
        environment,
        log_group_name,
        retention_in_days,
        kms_key_arn,
        retain_on_delete,
        tags,
    })
}

/// The live group, as DescribeLogGroups and ListTagsForResource report it.
#[derive(Debug, Clone, Default)]
pub struct LiveGroup {
    /// Without the `:*` suffix: the form TagResource takes.
    pub arn: String,
    pub retention: Option<i32>,
    pub kms_key_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl LiveGroup {
    /// With the `:*` suffix, as `AWS::Logs::LogGroup`'s `Arn` attribute gives it.
    pub fn attribute_arn(&self) -> String {
        format!("{}:*", self.arn)
    }
}

/// The calls that bring a live group in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// PutRetentionPolicy.
    Retention,
    /// AssociateKmsKey, or DisassociateKmsKey when the properties name no key.
    Encryption,
    /// UntagResource of these keys, then TagResource with the properties' tags.
    Tags(Vec<String>),
}

/// What an Update would change on `live` to match `desired`. The name is the physical id: a
/// new one is a replacement, which the named lifecycle handles before any plan.
pub fn plan(live: &LiveGroup, desired: &LogGroupProps) -> Plan<Step> {
    let mut plan = Plan::new();
    plan.compare(
        "RetentionInDays",
        live.retention
            .map_or_else(|| "never expire".to_owned(), |d| d.to_string()),
        desired.retention().to_string(),
        Step::Retention,
    );
    plan.compare(
        "KmsKeyArn",
        shown(live.kms_key_id.as_deref()),
        shown(desired.kms_key_arn.as_deref()),
        Step::Encryption,
    );
    if let Some((live_tags, desired_tags, removed)) = tag_change(&live.tags, &desired.tags) {
        plan.compare("Tags", live_tags, desired_tags, Step::Tags(removed));
    }
    plan
}

#[cfg(test)]
#[path = "log_group_tests.rs"]
mod tests;
