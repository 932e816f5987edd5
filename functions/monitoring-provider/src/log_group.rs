//! `Custom::LogGroup`: a CloudWatch Logs group whose retention, encryption and fate on Delete
//! come from the environment profile.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::primitives::{DateTime, DateTimeFormat};
use shared::cfn::{Created, NamedResource, Outcome, Request, TAG_RETAINED_AT};
use shared::props::{
    KMS_KEY_ARN_RULE, LOG_GROUP_NAME_RULE, is_kms_key_arn, is_log_group_name, removed_tag_keys,
};
use shared::{Environment, Problem, PropertyError, Props, ResourceError, Tag};
use std::collections::BTreeMap;
use std::collections::HashMap;

const TYPE: &str = "Custom::LogGroup";

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

/// The live group, as DescribeLogGroups reports it.
#[derive(Debug, Clone)]
pub struct LiveGroup {
    /// Without the `:*` suffix: the form TagResource takes.
    arn: String,
    retention: Option<i32>,
    kms_key_id: Option<String>,
}

impl LiveGroup {
    /// With the `:*` suffix, as `AWS::Logs::LogGroup`'s `Arn` attribute gives it.
    fn attribute_arn(&self) -> String {
        format!("{}:*", self.arn)
    }
}

pub struct LogGroups {
    logs: Client,
}

impl LogGroups {
    pub fn new(logs: Client) -> Self {
        LogGroups { logs }
    }

    /// Brings retention and encryption to what the properties ask for.
    async fn reconcile_settings(
        &self,
        props: &LogGroupProps,
        live: &LiveGroup,
    ) -> Result<(), ResourceError> {
        let name = props.log_group_name.as_str();
        if live.retention != Some(props.retention()) {
            self.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(props.retention())
                .send()
                .await
                .map_err(|e| ResourceError::aws(TYPE, "PutRetentionPolicy", name, &e))?;
        }
        if live.kms_key_id != props.kms_key_arn {
            match &props.kms_key_arn {
                Some(key) => {
                    self.logs
                        .associate_kms_key()
                        .log_group_name(name)
                        .kms_key_id(key)
                        .send()
                        .await
                        .map_err(|e| ResourceError::aws(TYPE, "AssociateKmsKey", name, &e))?;
                }
                None => {
                    self.logs
                        .disassociate_kms_key()
                        .log_group_name(name)
                        .send()
                        .await
                        .map_err(|e| ResourceError::aws(TYPE, "DisassociateKmsKey", name, &e))?;
                }
            }
        }
        Ok(())
    }

    fn outcome(name: &str, live: &LiveGroup) -> Outcome {
        let [arn, log_group_name] = ATTRIBUTES;
        Outcome::new(name)
            .with(arn, live.attribute_arn())
            .with(log_group_name, name)
    }

    async fn update_tags(
        &self,
        arn: &str,
        old: Option<&LogGroupProps>,
        new: &LogGroupProps,
    ) -> Result<(), ResourceError> {
        if old.is_some_and(|old| old.tags == new.tags) {
            return Ok(());
        }
        let removed = removed_tag_keys(old.map(|o| o.tags.as_slice()), &new.tags);
        if !removed.is_empty() {
            self.logs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| ResourceError::aws(TYPE, "UntagResource", arn, &e))?;
        }
        if !new.tags.is_empty() {
            self.logs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(
                    new.tags
                        .iter()
                        .map(|t| (t.key.clone(), t.value.clone()))
                        .collect(),
                ))
                .send()
                .await
                .map_err(|e| ResourceError::aws(TYPE, "TagResource", arn, &e))?;
        }
        Ok(())
    }
}

impl NamedResource for LogGroups {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "LogGroupName";
    type Properties = LogGroupProps;
    type Live = LiveGroup;

    fn decode(props: &mut Props) -> Result<LogGroupProps, PropertyError> {
        decode(props)
    }

    fn name(props: &LogGroupProps) -> &str {
        &props.log_group_name
    }

    /// A group made for prod keeps at least prod's retention and is retained, whatever
    /// environment a later event names: moving it to dev must not purge its logs.
    fn hold_to(props: &LogGroupProps, made_for: Environment) -> Option<LogGroupProps> {
        let made_for = shared::cfn::stricter_environment(Some(made_for), props.environment)?;
        let profile = made_for.profile();
        let retention = props.retention().max(profile.log_retention_days);
        let retain = props.retain() || profile.retain_on_delete;
        if retention == props.retention() && retain == props.retain() {
            return None;
        }
        tracing::warn!(
            log_group = props.log_group_name,
            made_for = %made_for,
            asked = %props.environment,
            retention,
            retain,
            "made for a stricter environment; keeping that environment's protection"
        );
        Some(LogGroupProps {
            retention_in_days: Some(retention),
            retain_on_delete: Some(retain),
            ..props.clone()
        })
    }

    async fn describe(&self, name: &str) -> Result<Option<LiveGroup>, ResourceError> {
        // The exact name sorts before every longer name it prefixes, so one item suffices.
        let page = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .limit(1)
            .send()
            .await
            .map_err(|e| ResourceError::aws(TYPE, "DescribeLogGroups", name, &e))?;
        Ok(page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .map(|g| LiveGroup {
                arn: g
                    .log_group_arn()
                    .map(str::to_owned)
                    .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_owned()))
                    .unwrap_or_default(),
                retention: g.retention_in_days(),
                kms_key_id: g.kms_key_id().map(str::to_owned),
            }))
    }

    async fn owner_tags(
        &self,
        live: &LiveGroup,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        let tags = self
            .logs
            .list_tags_for_resource()
            .resource_arn(&live.arn)
            .send()
            .await
            .map_err(|e| ResourceError::aws(TYPE, "ListTagsForResource", &live.arn, &e))?;
        Ok(tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// CreateLogGroup first (the common case costs no look-up), with the key and the tags in
    /// the same call; then the retention.
    async fn create(
        &self,
        request: &Request,
        props: &LogGroupProps,
    ) -> Result<Created<LiveGroup>, ResourceError> {
        let name = props.log_group_name.as_str();
        let tags: HashMap<String, String> = request
            .resource_tags(&props.tags, props.environment)
            .into_iter()
            .collect();
        let created = self
            .logs
            .create_log_group()
            .log_group_name(name)
            .set_kms_key_id(props.kms_key_arn.clone())
            .set_tags(Some(tags))
            .send()
            .await;
        if let Err(err) = created {
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception())
            {
                let live = self.describe(name).await?.ok_or_else(|| {
                    ResourceError::refused(
                        TYPE,
                        format!("log group {name} exists but cannot be described"),
                    )
                })?;
                return Ok(Created::Exists(live));
            }
            return Err(ResourceError::aws(TYPE, "CreateLogGroup", name, &err));
        }
        let live = self.describe(name).await?.ok_or_else(|| {
            ResourceError::refused(
                TYPE,
                format!("log group {name} vanished right after its creation"),
            )
        })?;
        if let Err(err) = self.reconcile_settings(props, &live).await {
            // The failed Create answers with the marker id, so nothing else would clean up.
            if let Err(cleanup) = self
                .logs
                .delete_log_group()
                .log_group_name(name)
                .send()
                .await
            {
                tracing::warn!(log_group = name, error = %shared::error::describe_aws_error(&cleanup), "could not remove the half-created group");
            }
            return Err(err);
        }
        Ok(Created::New(Self::outcome(name, &live)))
    }

    async fn reconcile(
        &self,
        live: &LiveGroup,
        old: Option<&LogGroupProps>,
        new: &LogGroupProps,
    ) -> Result<Outcome, ResourceError> {
        self.reconcile_settings(new, live).await?;
        self.update_tags(&live.arn, old, new).await?;
        Ok(Self::outcome(&new.log_group_name, live))
    }

    async fn delete(&self, name: &str, props: &LogGroupProps) -> Result<(), ResourceError> {
        if props.retain() {
            let Some(live) = self.describe(name).await? else {
                return Ok(());
            };
            let now = DateTime::from(std::time::SystemTime::now())
                .fmt(DateTimeFormat::DateTime)
                .unwrap_or_default();
            self.logs
                .tag_resource()
                .resource_arn(&live.arn)
                .tags(TAG_RETAINED_AT, now.get(..10).unwrap_or(&now))
                .send()
                .await
                .map_err(|e| ResourceError::aws(TYPE, "TagResource", name, &e))?;
            tracing::info!(log_group = name, environment = %props.environment, "retained on Delete; its data is kept");
            return Ok(());
        }
        shared::error::deleted(
            self.logs
                .delete_log_group()
                .log_group_name(name)
                .send()
                .await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            },
            TYPE,
            "DeleteLogGroup",
            name,
        )
    }
}

#[cfg(test)]
#[path = "log_group_tests.rs"]
mod tests;
