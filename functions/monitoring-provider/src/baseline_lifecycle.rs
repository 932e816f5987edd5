//! Creating, moving between environments and deleting a baseline: everything it made carries
//! the tag `stackhand:baseline=<Prefix>` (alarms) or a name under its prefix (dashboards, the
//! error filter), and Delete removes exactly that.

use crate::baseline::{self, ATTRIBUTES, BaselineProps, Plan, TAG_BASELINE, TYPE};
use crate::composite::{CompositeAlarms, CompositeProps};
use crate::cw::{Alarms, LiveAlarm};
use crate::dashboard::Dashboards;
use crate::metric_alarm::alarm_tags;
use crate::metric_filter::MetricFilters;
use shared::cfn::{CustomResource, Outcome, Request, TAG_STACK_ID};
use shared::props::removed_tag_keys;
use shared::{PropertyError, Props, ResourceError};

pub struct AlarmBaselines {
    pub alarms: Alarms,
    pub composites: CompositeAlarms,
    pub dashboards: Dashboards,
    pub filters: MetricFilters,
}

/// `(partition, region, account)` from the stack ARN.
fn where_from(request: &Request) -> Result<(String, String, String), ResourceError> {
    let parts: Vec<&str> = request.stack_id.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _, region, account, _] => Ok((
            (*partition).to_owned(),
            (*region).to_owned(),
            (*account).to_owned(),
        )),
        _ => Err(ResourceError::refused(
            TYPE,
            "StackId is not a CloudFormation stack ARN",
        )),
    }
}

fn plan_for(request: &Request, props: &BaselineProps) -> Result<Plan, ResourceError> {
    let (partition, region, account) = where_from(request)?;
    Ok(baseline::plan(props, &region, |name| {
        format!("arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}")
    }))
}

fn outcome(props: &BaselineProps, plan: &Plan) -> Outcome {
    let [names, count, composite, dashboards] = ATTRIBUTES;
    Outcome::new(props.physical_id())
        .with(names, plan.alarm_names().join(","))
        .with(count, plan.alarms.len().to_string())
        .with(
            composite,
            plan.composite
                .as_ref()
                .map(|(n, _)| n.clone())
                .unwrap_or_default(),
        )
        .with(
            dashboards,
            plan.dashboards
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )
}

impl AlarmBaselines {
    fn tags(props: &BaselineProps, severity: &str) -> Vec<(String, String)> {
        let mut tags = alarm_tags(&props.tags, severity, None);
        tags.push((TAG_BASELINE.to_owned(), props.prefix.clone()));
        tags
    }

    /// The live alarms this stack's baseline `prefix` made.
    async fn owned(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<LiveAlarm>, ResourceError> {
        let mut owned = Vec::new();
        for alarm in self.alarms.with_prefix(&format!("{prefix}-")).await? {
            let tags = self.alarms.tags(&alarm.arn).await?;
            if tags.get(TAG_BASELINE).map(String::as_str) == Some(prefix)
                && tags.get(TAG_STACK_ID) == Some(&request.stack_id)
            {
                owned.push(alarm);
            }
        }
        Ok(owned)
    }

    async fn apply(
        &self,
        request: &Request,
        old: Option<&BaselineProps>,
        props: &BaselineProps,
    ) -> Result<Outcome, ResourceError> {
        let plan = plan_for(request, props)?;
        let owned = self.owned(request, &props.prefix).await?;
        let taken: Vec<String> = self
            .alarms
            .find(&plan.alarm_names())
            .await?
            .into_iter()
            .filter(|live| !owned.iter().any(|o| o.name == live.name))
            .map(|live| live.name)
            .collect();
        if !taken.is_empty() {
            return Err(ResourceError::refused(
                TYPE,
                format!(
                    "alarms already exist that this baseline did not create: {}; choose another Prefix",
                    taken.join(", ")
                ),
            ));
        }
        if let Some(filter) = &plan.filter {
            self.filters.put(filter).await?;
        }
        let mut stack_tags = request.resource_tags(&[]);
        stack_tags.retain(|(k, _)| k != shared::cfn::TAG_REQUEST_ID);
        for spec in &plan.alarms {
            let mut tags = Self::tags(props, &spec.severity);
            match owned.iter().find(|o| o.name == spec.alarm_name) {
                Some(live) => {
                    self.alarms.put(spec, &[]).await?;
                    let removed = removed_tag_keys(old.map(|o| o.tags.as_slice()), &props.tags);
                    self.alarms.sync_tags(&live.arn, &tags, removed).await?;
                }
                None => {
                    tags.extend(request.resource_tags(&[]));
                    self.alarms.put(spec, &tags).await?;
                }
            }
        }
        if let Some((name, rule)) = &plan.composite {
            let composite = CompositeProps {
                environment: props.environment,
                alarm_name: name.clone(),
                rule: rule.clone(),
                description: Some(format!(
                    "{} service health: any critical baseline alarm",
                    props.prefix
                )),
                suppressor: None,
                severity: "critical".to_owned(),
                runbook: None,
                alarm_actions: props
                    .critical_topic
                    .clone()
                    .or(props.alert_topic.clone())
                    .into_iter()
                    .collect(),
                ok_actions: props
                    .critical_topic
                    .clone()
                    .or(props.alert_topic.clone())
                    .into_iter()
                    .collect(),
                tags: props.tags.clone(),
            };
            let mut tags = Self::tags(props, "critical");
            if !owned.iter().any(|o| &o.name == name) {
                tags.extend(request.resource_tags(&[]));
            }
            self.composites.put(&composite, &tags).await?;
        }
        for (name, body) in &plan.dashboards {
            self.dashboards.put(name, body).await?;
        }
        self.remove_stale(request, props, &plan, old).await?;
        Ok(outcome(props, &plan))
    }

    /// Removes what the baseline made before and no longer wants.
    async fn remove_stale(
        &self,
        request: &Request,
        props: &BaselineProps,
        plan: &Plan,
        old: Option<&BaselineProps>,
    ) -> Result<(), ResourceError> {
        let mut wanted = plan.alarm_names();
        if let Some((name, _)) = &plan.composite {
            wanted.push(name.clone());
        }
        let owned = self.owned(request, &props.prefix).await?;
        let (composites, metrics): (Vec<&LiveAlarm>, Vec<&LiveAlarm>) = owned
            .iter()
            .filter(|a| !wanted.contains(&a.name))
            .partition(|a| a.composite);
        // Composites first: they name the metric alarms.
        self.alarms
            .delete(
                &composites
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>(),
            )
            .await?;
        self.alarms
            .delete(&metrics.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
            .await?;
        if let Some(old) = old {
            let old_plan = plan_for(request, old)?;
            for spec in old_plan
                .alarms
                .iter()
                .filter(|s| !wanted.contains(&s.alarm_name))
            {
                self.alarms.delete_unused_detector(spec).await?;
            }
            if let Some(filter) = old_plan.filter.filter(|f| {
                plan.filter
                    .as_ref()
                    .is_none_or(|n| n.physical_id != f.physical_id)
            }) {
                self.filters
                    .remove(&filter.log_group_name, &filter.filter_name)
                    .await?;
            }
        }
        let stale_dashboards: Vec<String> = baseline::dashboard_names(&props.prefix)
            .into_iter()
            .filter(|n| !plan.dashboards.iter().any(|(d, _)| d == n))
            .collect();
        self.dashboards.delete(&stale_dashboards).await
    }
}

impl CustomResource for AlarmBaselines {
    const RESOURCE_TYPE: &'static str = TYPE;
    type Properties = BaselineProps;

    fn decode(props: &mut Props) -> Result<BaselineProps, PropertyError> {
        baseline::decode(props)
    }

    async fn create(
        &self,
        request: &Request,
        props: &BaselineProps,
    ) -> Result<Outcome, ResourceError> {
        self.apply(request, None, props).await
    }

    /// A new Prefix is a replacement: a new set, and the old one goes with CloudFormation's
    /// later Delete. Otherwise alarms are added and removed to match the new environment.
    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&BaselineProps>,
        new: &BaselineProps,
    ) -> Result<Outcome, ResourceError> {
        let old = old.filter(|o| o.physical_id() == physical_id);
        if physical_id != new.physical_id() {
            return self.apply(request, None, new).await;
        }
        self.apply(request, old, new).await
    }

    async fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        props: &BaselineProps,
    ) -> Result<(), ResourceError> {
        let prefix = physical_id
            .strip_prefix(baseline::PHYSICAL_ID_PREFIX)
            .unwrap_or(&props.prefix);
        let owned = self.owned(request, prefix).await?;
        let (composites, metrics): (Vec<&LiveAlarm>, Vec<&LiveAlarm>) =
            owned.iter().partition(|a| a.composite);
        self.alarms
            .delete(
                &composites
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>(),
            )
            .await?;
        self.alarms
            .delete(&metrics.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
            .await?;
        if props.prefix == prefix {
            let plan = plan_for(request, props)?;
            for spec in &plan.alarms {
                self.alarms.delete_unused_detector(spec).await?;
            }
            if let Some(filter) = plan.filter {
                self.filters
                    .remove(&filter.log_group_name, &filter.filter_name)
                    .await?;
            }
        }
        self.dashboards
            .delete(&baseline::dashboard_names(prefix))
            .await?;
        Ok(())
    }
}
