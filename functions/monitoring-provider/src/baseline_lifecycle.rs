//! Creating, moving between environments and deleting a baseline: its alarms carry the tag
//! `stackhand:baseline=<Prefix>` and the owner record of the stack's logical resource; its
//! dashboards and error filter, which take no tags, are recorded in the owner ledger. Delete
//! removes exactly what those records give to the baseline's own logical resource: never a
//! copy's (same Prefix, another logical id) and never a dashboard of the same name made
//! elsewhere (dashboards are global to the account).
//!
//! The desired set is in baseline.rs, the Update plan in baseline_plan.rs, and finding and
//! removing what the baseline owns in baseline_owned.rs.

use crate::baseline::{
    self, ATTRIBUTES, BaselineProps, Desired, TYPE, alarm_tags_for, composite_props,
};
use crate::baseline_plan::{self, OwnedAlarm, Step};
use crate::composite::CompositeAlarms;
use crate::cw::Alarms;
use crate::dashboard::Dashboards;
use crate::metric_filter::MetricFilters;
use shared::cfn::{
    CustomResource, Drift, Outcome, Request, made_by_request, made_lately_by_logical_resource,
};
use shared::plan::Plan;
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

pub(crate) fn desired_for(
    request: &Request,
    props: &BaselineProps,
) -> Result<Desired, ResourceError> {
    let (partition, region, account) = where_from(request)?;
    Ok(baseline::desired(props, &region, |name| {
        format!("arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}")
    }))
}

fn outcome(props: &BaselineProps, plan: &Desired) -> Outcome {
    let [name_prefix, count, composite, dashboards, cost] = ATTRIBUTES;
    Outcome::new(props.physical_id())
        .with(name_prefix, format!("{}-", props.prefix))
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
        .with(
            cost,
            plan.billed().attribute(shared::cost::Prices::from_env()),
        )
}

impl AlarmBaselines {
    async fn apply(
        &self,
        request: &Request,
        old: Option<&BaselineProps>,
        props: &BaselineProps,
    ) -> Result<Outcome, ResourceError> {
        let desired = desired_for(request, props)?;
        self.check_pace(request, &desired)?;
        // What this resource wrote before the ledger existed, to recognise it after upgrade.
        let old_desired = old.map(|o| desired_for(request, o)).transpose()?;
        let owned = self.owned_alarms(request, &props.prefix).await?;
        let taken: Vec<String> = self
            .alarms
            .find(&desired.alarm_names())
            .await?
            .into_iter()
            .filter(|live| !owned.iter().any(|o| o.live.name == live.name))
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
        let plan = baseline_plan::plan(props, old.map(|o| o.tags.as_slice()), &desired, &owned);
        if !plan.is_empty() {
            tracing::info!(
                prefix = props.prefix,
                changes = plan.changes.len(),
                "bringing the baseline in step"
            );
        }
        let mut done: Vec<&Step> = Vec::new();
        for change in &plan.changes {
            if !done.contains(&&change.step) {
                done.push(&change.step);
                self.perform(request, props, &desired, &owned, &change.step)
                    .await?;
            }
        }
        // The untaggable parts come after the tagged alarms, so that a Create cut off before
        // its first alarm has made nothing (see `clean_up_failed_create`).
        if let Some(filter) = &desired.filter {
            let legacy = old_desired.as_ref().and_then(|p| p.filter.as_ref());
            self.filters.put_owned(request, filter, legacy).await?;
        }
        for (name, body) in &desired.dashboards {
            let legacy = old_desired
                .as_ref()
                .and_then(|p| p.dashboards.iter().find(|(n, _)| n == name))
                .map(|(_, b)| b);
            self.dashboards
                .put_owned(request, props.environment, name, body, legacy)
                .await?;
        }
        self.remove_stale(request, props, &desired, &plan, &owned, old_desired)
            .await?;
        Ok(outcome(props, &desired))
    }

    /// One alarm step of the plan; removals wait for `remove_stale`.
    async fn perform(
        &self,
        request: &Request,
        props: &BaselineProps,
        desired: &Desired,
        owned: &[OwnedAlarm],
        step: &Step,
    ) -> Result<(), ResourceError> {
        let (name, fresh) = match step {
            Step::Create(name) => (name, true),
            Step::Put(name) => (name, false),
            Step::Retag { alarm, untag, tag } => {
                return match owned.iter().find(|o| &o.live.name == alarm) {
                    Some(o) => self.alarms.retag(&o.live.arn, untag, tag).await,
                    None => Ok(()),
                };
            }
            Step::Remove(_) => return Ok(()),
        };
        // Tags go with a new alarm only: CloudWatch ignores them on an update.
        let tags_for = |severity: &str| match fresh {
            true => {
                let mut tags = alarm_tags_for(props, severity);
                tags.extend(request.resource_tags(&[], props.environment));
                tags
            }
            false => Vec::new(),
        };
        if let Some(spec) = desired.alarms.iter().find(|s| &s.alarm_name == name) {
            return self.alarms.put(spec, &tags_for(&spec.severity)).await;
        }
        if let Some((composite, rule)) = desired.composite.as_ref().filter(|(n, _)| n == name) {
            let props = composite_props(props, composite, rule);
            return self.composites.put(&props, &tags_for("critical")).await;
        }
        Ok(())
    }

    /// Fails before any call when CloudWatch's PutMetricAlarm quota cannot make the plan's
    /// alarms in the time this request has: better a Reason that says so now than a baseline
    /// cut off half-made at the deadline.
    fn check_pace(&self, request: &Request, plan: &Desired) -> Result<(), ResourceError> {
        let puts = plan.alarms.len() + usize::from(plan.composite.is_some());
        let (Some(left), Some(rate)) = (
            request.time_left(),
            self.alarms.pacer.rate("PutMetricAlarm"),
        ) else {
            return Ok(());
        };
        // Room for the reads, tags, filter and dashboards besides the alarm writes.
        let needed = self
            .alarms
            .pacer
            .time_for("PutMetricAlarm", puts)
            .mul_f64(1.25);
        if needed <= left {
            return Ok(());
        }
        Err(ResourceError::refused(
            TYPE,
            format!(
                "the plan has {puts} alarms; at CloudWatch's quota of {rate} PutMetricAlarm a \
                 second they need about {} s, more than the {} s this request has left: split \
                 ServiceNames across several baselines (each with its own Prefix), or raise the \
                 account's alarm quotas and set ALARM_WRITES_PER_SECOND on monitoring-provider",
                needed.as_secs(),
                left.as_secs()
            ),
        ))
    }

    /// Removes what the baseline made before and no longer wants: the alarms the plan
    /// removes, the old properties' unused anomaly detectors and filter, stale dashboards.
    async fn remove_stale(
        &self,
        request: &Request,
        props: &BaselineProps,
        desired: &Desired,
        plan: &Plan<Step>,
        owned: &[OwnedAlarm],
        old_desired: Option<Desired>,
    ) -> Result<(), ResourceError> {
        let stale = owned
            .iter()
            .map(|o| &o.live)
            .filter(|live| plan.needs(&Step::Remove(live.name.clone())));
        self.remove_alarms(stale).await?;
        if let Some(old_desired) = old_desired {
            for spec in old_desired
                .alarms
                .iter()
                .filter(|s| !desired.alarms.iter().any(|d| d.alarm_name == s.alarm_name))
            {
                self.alarms.delete_unused_detector(spec).await?;
            }
            if let Some(filter) = old_desired.filter.filter(|f| {
                desired
                    .filter
                    .as_ref()
                    .is_none_or(|n| n.physical_id != f.physical_id)
            }) {
                self.filters.remove_owned(request, &filter).await?;
            }
        }
        let stale_dashboards: Vec<String> = baseline::dashboard_names(&props.prefix)
            .into_iter()
            .filter(|n| !desired.dashboards.iter().any(|(d, _)| d == n))
            .collect();
        self.dashboards
            .delete_owned(request, &stale_dashboards)
            .await
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

    /// The baseline's alarms as an Update would plan them: each one missing, different or
    /// no longer wanted is drift; none left at all is a deleted baseline.
    async fn drift(
        &self,
        request: &Request,
        _physical_id: &str,
        props: &BaselineProps,
    ) -> Result<Drift, ResourceError> {
        let desired = desired_for(request, props)?;
        let owned = self.owned_alarms(request, &props.prefix).await?;
        if owned.is_empty() && !desired.alarms.is_empty() {
            return Ok(Drift::Deleted);
        }
        let plan = baseline_plan::plan(props, Some(props.tags.as_slice()), &desired, &owned);
        Ok(Drift::of(&plan))
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
            let plan = desired_for(request, props)?;
            for spec in &plan.alarms {
                self.alarms.delete_unused_detector(spec).await?;
            }
            if let Some(filter) = plan.filter {
                self.filters.remove_owned(request, &filter).await?;
            }
        }
        self.dashboards
            .delete_owned(request, &baseline::dashboard_names(prefix))
            .await
    }

    /// The failed Create's alarms carry its request tag; its filter and dashboards are
    /// recorded in the ledger with that request id.
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

    /// The same, for what this logical resource made lately: an older baseline of the same
    /// logical id (one kept by `DeletionPolicy: Retain`) is not the cancelled Create's.
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &BaselineProps,
    ) -> Result<(), ResourceError> {
        self.remove_made(cancelled, props, |tags| {
            made_lately_by_logical_resource(tags, cancelled)
        })
        .await
    }
}
