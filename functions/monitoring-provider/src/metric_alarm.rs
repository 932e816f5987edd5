//! `Custom::MetricAlarm`: single-metric, metric-math and anomaly-band alarms. `Severity` and
//! `Runbook` become the alarm tags `severity` and `runbook`, which alarm-router reads.

use crate::alarm_spec::{self, AlarmSpec};
use crate::cw::{Alarms, LiveAlarm, alarm_retag};
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request};
use shared::cost::{Billed, Prices};
use shared::plan::Plan;
use shared::{Environment, PropertyError, Props, ResourceError, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::MetricAlarm";
pub const ATTRIBUTES: [&str; 3] = ["Arn", "AlarmName", shared::cost::ATTRIBUTE];
pub use crate::cw::alarm_tags;
pub use shared::alarm_tags::{TAG_RUNBOOK, TAG_SEVERITY};

#[derive(Debug, Clone, PartialEq)]
pub struct MetricAlarmProps {
    pub environment: Environment,
    pub spec: AlarmSpec,
    pub tags: Vec<Tag>,
}

/// The calls that bring a live alarm in step: PutMetricAlarm replaces its whole definition
/// (CloudWatch ignores tags there), the tag calls keep `severity`, `runbook` and the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    PutMetricAlarm,
    /// Tag keys to remove, pairs to set.
    Retag(Vec<String>, Vec<(String, String)>),
}

/// The definition's changes and the tags' (`live_tags` as ListTagsForResource gives them).
pub fn plan_with_tags(
    live: &LiveAlarm,
    live_tags: &BTreeMap<String, String>,
    old: Option<&MetricAlarmProps>,
    new: &MetricAlarmProps,
) -> Plan<Step> {
    let mut plan = plan(live, &new.spec);
    let retag = alarm_retag(
        live_tags,
        old.map(|o| o.tags.as_slice()),
        &new.tags,
        &new.spec.severity,
        new.spec.runbook.as_deref(),
    );
    plan.add_retag(retag, Step::Retag);
    plan
}

/// What an Update would change in the alarm's definition, property by property (a baseline
/// plans its alarms' tags itself). The name is the physical id.
pub fn plan(live: &LiveAlarm, desired: &AlarmSpec) -> Plan<Step> {
    let wanted = desired.definition();
    let mut plan = Plan::new();
    let shown = |value: Option<&String>| value.cloned().unwrap_or_else(|| "(none)".to_owned());
    for (property, value) in &wanted {
        plan.compare(
            property,
            shown(live.definition.get(property)),
            value.as_str(),
            Step::PutMetricAlarm,
        );
    }
    // What the live alarm has and the properties no longer give (a metric turned into math).
    for (property, value) in &live.definition {
        if !wanted.contains_key(property) {
            plan.compare(property, value.as_str(), "(none)", Step::PutMetricAlarm);
        }
    }
    plan
}

/// The alarm's attributes; `billed` is what its definition makes billed monthly.
pub fn outcome(live: &LiveAlarm, billed: Billed) -> Outcome {
    let [arn, name, cost] = ATTRIBUTES;
    Outcome::new(&live.name)
        .with(arn, &live.arn)
        .with(name, &live.name)
        .with(cost, billed.attribute(Prices::from_env()))
}

pub struct MetricAlarms {
    pub alarms: Alarms,
}

impl MetricAlarms {
    /// The Update plan against the live alarm and its tags.
    async fn plan(
        &self,
        live: &LiveAlarm,
        old: Option<&MetricAlarmProps>,
        new: &MetricAlarmProps,
    ) -> Result<Plan<Step>, ResourceError> {
        let live_tags = self.alarms.tags(&live.arn).await?;
        Ok(plan_with_tags(live, &live_tags, old, new))
    }
}

impl NamedResource for MetricAlarms {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "AlarmName";
    type Properties = MetricAlarmProps;
    type Live = LiveAlarm;

    fn decode(props: &mut Props) -> Result<MetricAlarmProps, PropertyError> {
        let environment = Environment::decode(props)?;
        let spec = alarm_spec::decode(props)?;
        let tags = props.tags()?;
        Ok(MetricAlarmProps {
            environment,
            spec,
            tags,
        })
    }

    fn name(props: &MetricAlarmProps) -> &str {
        &props.spec.alarm_name
    }

    async fn describe(&self, name: &str) -> Result<Option<LiveAlarm>, ResourceError> {
        self.alarms.describe(name).await
    }

    async fn owner_tags(
        &self,
        live: &LiveAlarm,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        self.alarms.tags(&live.arn).await
    }

    async fn create(
        &self,
        request: &Request,
        props: &MetricAlarmProps,
    ) -> Result<Created<LiveAlarm>, ResourceError> {
        if let Some(existing) = self.describe(&props.spec.alarm_name).await? {
            return Ok(Created::Exists(existing));
        }
        let mut tags = alarm_tags(
            &props.tags,
            &props.spec.severity,
            props.spec.runbook.as_deref(),
        );
        tags.extend(request.resource_tags(&[], props.environment));
        self.alarms.put(&props.spec, &tags).await?;
        let live = self
            .describe(&props.spec.alarm_name)
            .await?
            .ok_or_else(|| {
                ResourceError::refused(
                    TYPE,
                    format!("PutMetricAlarm for {} left no alarm", props.spec.alarm_name),
                )
            })?;
        Ok(Created::New(outcome(&live, props.spec.billed())))
    }

    async fn reconcile(
        &self,
        live: &LiveAlarm,
        old: Option<&MetricAlarmProps>,
        new: &MetricAlarmProps,
    ) -> Result<Outcome, ResourceError> {
        if live.composite {
            return Err(ResourceError::refused(
                TYPE,
                format!(
                    "AlarmName {} is a composite alarm; choose another name",
                    live.name
                ),
            ));
        }
        let plan = self.plan(live, old, new).await?;
        if !plan.is_empty() {
            tracing::info!(alarm = %live.name, changes = ?plan.properties(), "updating");
        }
        if plan.needs(&Step::PutMetricAlarm) {
            self.alarms.put(&new.spec, &[]).await?;
        }
        for change in &plan.changes {
            if let Step::Retag(untag, tag) = &change.step {
                self.alarms.retag(&live.arn, untag, tag).await?;
            }
        }
        if let Some(old) = old.filter(|o| o.spec.anomaly_detector() != new.spec.anomaly_detector())
        {
            self.alarms.delete_unused_detector(&old.spec).await?;
        }
        Ok(outcome(live, new.spec.billed()))
    }

    async fn drift(
        &self,
        live: &LiveAlarm,
        owner_tags: &BTreeMap<String, String>,
        props: &MetricAlarmProps,
    ) -> Result<Drift, ResourceError> {
        if live.composite {
            return Ok(Drift::Foreign(
                "a composite alarm of the same name".to_owned(),
            ));
        }
        Ok(Drift::of(&plan_with_tags(
            live,
            owner_tags,
            Some(props),
            props,
        )))
    }

    async fn delete(&self, name: &str, props: &MetricAlarmProps) -> Result<(), ResourceError> {
        self.alarms.delete(&[name.to_owned()]).await?;
        if props.spec.alarm_name == name {
            self.alarms.delete_unused_detector(&props.spec).await?;
        }
        Ok(())
    }
}
