//! The Logs calls of `Custom::LogGroup`: read the live group, create it, apply a plan
//! (`log_group::plan`), and delete it unless it is retained.

use crate::log_group::{self, ATTRIBUTES, LiveGroup, LogGroupProps, Step, TYPE};
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::primitives::{DateTime, DateTimeFormat};
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request, TAG_RETAINED_AT};
use shared::plan::Plan;
use shared::{Environment, PropertyError, Props, ResourceError};
use std::collections::BTreeMap;
use std::collections::HashMap;

pub struct LogGroups {
    logs: Client,
}

impl LogGroups {
    pub fn new(logs: Client) -> Self {
        LogGroups { logs }
    }

    /// Performs a plan's steps, in its order.
    async fn apply(
        &self,
        live: &LiveGroup,
        props: &LogGroupProps,
        plan: &Plan<Step>,
    ) -> Result<(), ResourceError> {
        let name = props.log_group_name.as_str();
        for change in &plan.changes {
            match &change.step {
                Step::Retention => {
                    self.logs
                        .put_retention_policy()
                        .log_group_name(name)
                        .retention_in_days(props.retention())
                        .send()
                        .await
                        .map_err(|e| ResourceError::aws(TYPE, "PutRetentionPolicy", name, &e))?;
                }
                Step::Encryption => match &props.kms_key_arn {
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
                            .map_err(|e| {
                                ResourceError::aws(TYPE, "DisassociateKmsKey", name, &e)
                            })?;
                    }
                },
                Step::Tags(removed) => self.replace_tags(&live.arn, removed, props).await?,
            }
        }
        Ok(())
    }

    /// The plan against the live group with its tags, which a describe does not return.
    async fn plan(
        &self,
        live: &LiveGroup,
        new: &LogGroupProps,
    ) -> Result<(LiveGroup, Plan<Step>), ResourceError> {
        let live = LiveGroup {
            tags: self.owner_tags(live).await?,
            ..live.clone()
        };
        let plan = log_group::plan(&live, new);
        Ok((live, plan))
    }

    fn outcome(name: &str, live: &LiveGroup) -> Outcome {
        let [arn, log_group_name] = ATTRIBUTES;
        Outcome::new(name)
            .with(arn, live.attribute_arn())
            .with(log_group_name, name)
    }

    async fn replace_tags(
        &self,
        arn: &str,
        removed: &[String],
        new: &LogGroupProps,
    ) -> Result<(), ResourceError> {
        if !removed.is_empty() {
            self.logs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed.to_vec()))
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
        log_group::decode(props)
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
                // Read only when an Update plans them (ListTagsForResource).
                tags: BTreeMap::new(),
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
        // CreateLogGroup set the key and the tags; the retention is left.
        let mut settings = log_group::plan(&live, props);
        settings
            .changes
            .retain(|change| !matches!(change.step, Step::Tags(_)));
        if let Err(err) = self.apply(&live, props, &settings).await {
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

    /// The plan against the live group and its tags, then its steps.
    async fn reconcile(
        &self,
        live: &LiveGroup,
        _old: Option<&LogGroupProps>,
        new: &LogGroupProps,
    ) -> Result<Outcome, ResourceError> {
        let (live, plan) = self.plan(live, new).await?;
        if !plan.is_empty() {
            tracing::info!(log_group = %new.log_group_name, changes = ?plan.properties(), "updating");
        }
        self.apply(&live, new, &plan).await?;
        Ok(Self::outcome(&new.log_group_name, &live))
    }

    async fn drift(
        &self,
        live: &LiveGroup,
        owner_tags: &BTreeMap<String, String>,
        props: &LogGroupProps,
    ) -> Result<Drift, ResourceError> {
        let live = LiveGroup {
            tags: owner_tags.clone(),
            ..live.clone()
        };
        Ok(Drift::of(&log_group::plan(&live, props)))
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
