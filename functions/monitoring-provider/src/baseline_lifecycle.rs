//! Creating, moving between environments and deleting a baseline: everything it made carries
//! the tag `stackhand:baseline=<Prefix>` (alarms) or a name under its prefix (dashboards, the
//! error filter), and Delete removes exactly that.

use crate::baseline::{self, ATTRIBUTES, BaselineProps, Plan, TAG_BASELINE, TYPE};
use crate::composite::{CompositeAlarms, CompositeProps};
use crate::cw::{Alarms, LiveAlarm};
use crate::dashboard::Dashboards;
use crate::metric_alarm::alarm_tags;
use crate::metric_filter::MetricFilters;
use shared::cfn::{
    CustomResource, NamedResource, Outcome, Request, TAG_STACK_ID, made_by_logical_resource,
    made_by_request,
};
use shared::props::removed_tag_keys;
use shared::{PropertyError, Props, ResourceError};
use std::collections::BTreeMap;

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

    /// The live alarms this stack's baseline `prefix` made, with their tags.
    async fn owned_tagged(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<(LiveAlarm, BTreeMap<String, String>)>, ResourceError> {
        let mut owned = Vec::new();
        for alarm in self.alarms.with_prefix(&format!("{prefix}-")).await? {
            let tags = self.alarms.tags(&alarm.arn).await?;
            if tags.get(TAG_BASELINE).map(String::as_str) == Some(prefix)
                && tags.get(TAG_STACK_ID) == Some(&request.stack_id)
            {
                owned.push((alarm, tags));
            }
        }
        Ok(owned)
    }

    async fn owned(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<LiveAlarm>, ResourceError> {
        Ok(self
            .owned_tagged(request, prefix)
            .await?
            .into_iter()
            .map(|(alarm, _)| alarm)
            .collect())
    }

    /// Composites first: they name the metric alarms.
    async fn remove_alarms<'a>(
        &self,
        alarms: impl IntoIterator<Item = &'a LiveAlarm>,
    ) -> Result<(), ResourceError> {
        let (composites, metrics): (Vec<&LiveAlarm>, Vec<&LiveAlarm>) =
            alarms.into_iter().partition(|a| a.composite);
        for group in [composites, metrics] {
            let names: Vec<String> = group.iter().map(|a| a.name.clone()).collect();
            self.alarms.delete(&names).await?;
        }
        Ok(())
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
        // The untaggable parts come after the tagged alarms, so that a Create cut off before
        // its first alarm has made nothing (see `clean_up_failed_create`).
        if let Some(filter) = &plan.filter {
            self.filters.put(filter).await?;
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
        self.remove_alarms(owned.iter().filter(|a| !wanted.contains(&a.name)))
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
        self.remove_alarms(&owned).await?;
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

    /// The failed Create's alarms carry its request tag, and it writes its filter and
    /// dashboards only after them: without such an alarm it made nothing. The filter and the
    /// dashboards cannot be tagged, so they go only when they are exactly what its plan wrote.
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &BaselineProps,
    ) -> Result<(), ResourceError> {
        self.remove_made(failed, props, |tags| made_by_request(tags, failed))
            .await
    }

    fn is_own_id(&self, physical_id: &str, props: &BaselineProps) -> bool {
        physical_id == props.physical_id()
    }

    /// The same, for the alarms this logical resource made.
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &BaselineProps,
    ) -> Result<(), ResourceError> {
        self.remove_made(cancelled, props, |tags| {
            made_by_logical_resource(tags, cancelled)
        })
        .await
    }
}

impl AlarmBaselines {
    /// Removes the alarms whose tags pass `made`, and when there are any, the detectors, the
    /// filter and the dashboards that are exactly what the plan for `props` writes.
    async fn remove_made(
        &self,
        request: &Request,
        props: &BaselineProps,
        made: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), ResourceError> {
        let made: Vec<LiveAlarm> = self
            .owned_tagged(request, &props.prefix)
            .await?
            .into_iter()
            .filter(|(_, tags)| made(tags))
            .map(|(alarm, _)| alarm)
            .collect();
        if made.is_empty() {
            return Ok(());
        }
        tracing::info!(
            prefix = props.prefix,
            alarms = made.len(),
            "removing what an unanswered Create made"
        );
        self.remove_alarms(&made).await?;
        let plan = plan_for(request, props)?;
        for spec in &plan.alarms {
            self.alarms.delete_unused_detector(spec).await?;
        }
        if let Some(filter) = &plan.filter {
            let live = self
                .filters
                .get(&filter.log_group_name, &filter.filter_name)
                .await?;
            if live.is_some_and(|live| self.filters.identical(&live, filter)) {
                self.filters
                    .remove(&filter.log_group_name, &filter.filter_name)
                    .await?;
            }
        }
        for (name, body) in &plan.dashboards {
            let live = self.dashboards.get(name).await?;
            if live.is_some_and(|live| live.body.as_ref() == Some(body)) {
                self.dashboards.delete(std::slice::from_ref(name)).await?;
            }
        }
        Ok(())
    }
}
