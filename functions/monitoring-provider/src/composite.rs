//! `Custom::CompositeAlarm`: a rule over other alarms, with an optional actions suppressor.
//! Every alarm the rule names must exist before the rule is put.

use crate::alarm_spec::arns_text;
use crate::alarm_spec::{SEVERITIES, is_alarm_name};
use crate::cw::{Alarms, LiveAlarm, alarm_retag, sdk_tags};
use crate::metric_alarm::{alarm_tags, outcome};
use serde_json::Value;
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request};
use shared::cost::Billed;
use shared::plan::Plan;
use shared::props::show;
use shared::{Environment, Problem, PropertyError, Props, ResourceError, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::CompositeAlarm";
pub const ATTRIBUTES: [&str; 3] = ["Arn", "AlarmName", shared::cost::ATTRIBUTE];
const MAX_RULE: usize = 10_240;

#[derive(Debug, Clone, PartialEq)]
pub struct Suppressor {
    pub alarm: String,
    pub wait_period: i32,
    pub extension_period: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompositeProps {
    pub environment: Environment,
    pub alarm_name: String,
    pub rule: String,
    pub description: Option<String>,
    pub suppressor: Option<Suppressor>,
    pub severity: String,
    pub runbook: Option<String>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub tags: Vec<Tag>,
}

impl CompositeProps {
    /// The description as stackhand writes it (see `AlarmSpec::stored_description`).
    pub fn stored_description(&self) -> String {
        shared::alarm_tags::with_severity(self.description.as_deref(), &self.severity)
    }

    /// The alarm as PutCompositeAlarm defines it, in the form DescribeAlarms reports it: what an
    /// Update's plan compares (severity and runbook are tags, kept in step apart).
    pub fn definition(&self) -> BTreeMap<&'static str, String> {
        let suppressor = self.suppressor.as_ref();
        BTreeMap::from([
            ("AlarmRule", self.rule.clone()),
            ("AlarmDescription", self.stored_description()),
            (
                "ActionsSuppressor",
                suppressor.map(|s| s.alarm.clone()).unwrap_or_default(),
            ),
            (
                "ActionsSuppressorWaitPeriod",
                suppressor
                    .map(|s| s.wait_period.to_string())
                    .unwrap_or_default(),
            ),
            (
                "ActionsSuppressorExtensionPeriod",
                suppressor
                    .map(|s| s.extension_period.to_string())
                    .unwrap_or_default(),
            ),
            ("AlarmActions", arns_text(&self.alarm_actions)),
            ("OkActions", arns_text(&self.ok_actions)),
        ])
    }
}

/// A composite alarm is billed as one, whatever its rule names (its members are billed apart).
pub const COMPOSITE_BILLED: Billed = Billed {
    composite_alarms: 1,
    ..Billed::NONE
};

/// The call that brings a live composite in step: PutCompositeAlarm replaces its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    PutCompositeAlarm,
    /// Tag keys to remove, pairs to set.
    Retag(Vec<String>, Vec<(String, String)>),
}

/// What an Update would change in the composite's definition. The name is the physical id.
pub fn plan(live: &LiveAlarm, desired: &CompositeProps) -> Plan<Step> {
    let mut plan = Plan::new();
    for (property, value) in desired.definition() {
        let shown = live
            .definition
            .get(property)
            .map_or("(none)", String::as_str);
        plan.compare(property, shown, value, Step::PutCompositeAlarm);
    }
    plan
}

/// The alarm names a rule refers to: `ALARM(name)`, `OK("name")`, `INSUFFICIENT_DATA(name)`.
pub fn referenced_alarms(rule: &str) -> Vec<String> {
    let mut names = Vec::new();
    for function in ["ALARM(", "OK(", "INSUFFICIENT_DATA("] {
        let mut rest = rule;
        while let Some(at) = rest.find(function) {
            // `ALARM(` inside `INSUFFICIENT_DATA(`'s name would be rare; the function name must
            // not be preceded by a letter.
            let preceded = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            rest = &rest[at + function.len()..];
            let Some(end) = rest.find(')') else { break };
            if !preceded {
                let name = rest[..end].trim().trim_matches('"').trim();
                if !name.is_empty() && !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
}

pub fn decode(props: &mut Props) -> Result<CompositeProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let alarm_name = props.required_valid_string(
        "AlarmName",
        "must be 1 to 255 characters without control characters",
        is_alarm_name,
    )?;
    let rule = props.required_string("AlarmRule")?;
    if rule.len() > MAX_RULE {
        return Err(props.error(
            "AlarmRule",
            Problem::Invalid {
                rule: format!("must be at most {MAX_RULE} characters"),
                got: format!("{} characters", rule.len()),
            },
        ));
    }
    if referenced_alarms(&rule).is_empty() {
        return Err(props.error("AlarmRule", Problem::Invalid { rule: "must name at least one alarm, as ALARM(name), OK(name) or INSUFFICIENT_DATA(name)".to_owned(), got: show(&Value::String(rule)) }));
    }
    let description = crate::alarm_decode::description(props)?;
    let suppressor_alarm = props.optional_string("ActionsSuppressor")?;
    let wait = props.optional_int_in("ActionsSuppressorWaitPeriod", 0, 86_400)?;
    let extension = props.optional_int_in("ActionsSuppressorExtensionPeriod", 0, 86_400)?;
    let suppressor = match (suppressor_alarm, wait, extension) {
        // Both bounds fit an i32.
        (Some(alarm), Some(w), Some(e)) => Some(Suppressor {
            alarm,
            wait_period: w as i32,
            extension_period: e as i32,
        }),
        (Some(_), None, _) => {
            return Err(props.error(
                "ActionsSuppressorWaitPeriod",
                Problem::RequiredWhen("ActionsSuppressor is set".to_owned()),
            ));
        }
        (Some(_), _, None) => {
            return Err(props.error(
                "ActionsSuppressorExtensionPeriod",
                Problem::RequiredWhen("ActionsSuppressor is set".to_owned()),
            ));
        }
        (None, Some(_), _) => {
            return Err(props.error(
                "ActionsSuppressorWaitPeriod",
                Problem::OnlyWith("ActionsSuppressor".to_owned()),
            ));
        }
        (None, _, Some(_)) => {
            return Err(props.error(
                "ActionsSuppressorExtensionPeriod",
                Problem::OnlyWith("ActionsSuppressor".to_owned()),
            ));
        }
        (None, None, None) => None,
    };
    let severity = props
        .optional_choice("Severity", &SEVERITIES)?
        .unwrap_or("warning")
        .to_owned();
    let runbook = props.optional_valid_string("Runbook", "must be an http(s) URL", |u| {
        u.starts_with("https://") || u.starts_with("http://")
    })?;
    let alarm_actions = props
        .optional_string_list("AlarmActions")?
        .unwrap_or_default();
    let ok_actions = props.optional_string_list("OkActions")?.unwrap_or_default();
    for (name, list) in [("AlarmActions", &alarm_actions), ("OkActions", &ok_actions)] {
        if let Some(bad) = list.iter().find(|a| !a.starts_with("arn:")) {
            return Err(props.error(
                name,
                Problem::Invalid {
                    rule: "must be ARNs".to_owned(),
                    got: show(&Value::String(bad.clone())),
                },
            ));
        }
    }
    let tags = props.tags()?;
    Ok(CompositeProps {
        environment,
        alarm_name,
        rule,
        description,
        suppressor,
        severity,
        runbook,
        alarm_actions,
        ok_actions,
        tags,
    })
}

pub struct CompositeAlarms {
    pub alarms: Alarms,
}

impl CompositeAlarms {
    /// The Update plan: the definition's changes, then the tags'.
    async fn plan_update(
        &self,
        live: &LiveAlarm,
        old: Option<&CompositeProps>,
        new: &CompositeProps,
    ) -> Result<Plan<Step>, ResourceError> {
        let live_tags = self.alarms.tags(&live.arn).await?;
        Ok(plan_with_tags(live, &live_tags, old, new))
    }
}

/// The definition's changes, then the tags' (`live_tags` as ListTagsForResource gives them).
fn plan_with_tags(
    live: &LiveAlarm,
    live_tags: &BTreeMap<String, String>,
    old: Option<&CompositeProps>,
    new: &CompositeProps,
) -> Plan<Step> {
    let mut plan = plan(live, new);
    let retag = alarm_retag(
        live_tags,
        old.map(|o| o.tags.as_slice()),
        &new.tags,
        &new.severity,
        new.runbook.as_deref(),
    );
    plan.add_retag(retag, Step::Retag);
    plan
}

impl CompositeAlarms {
    /// Every alarm the rule and the suppressor name must exist (moto would accept any name).
    async fn check_references(&self, props: &CompositeProps) -> Result<(), ResourceError> {
        let mut names = referenced_alarms(&props.rule);
        if let Some(s) = &props.suppressor {
            names.push(s.alarm.clone());
        }
        let found = self.alarms.find(&names).await?;
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !found.iter().any(|f| &f.name == *n))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ResourceError::refused(
            self.alarms.resource_type,
            format!(
                "AlarmRule (or ActionsSuppressor) names alarms that do not exist: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    pub async fn put(
        &self,
        props: &CompositeProps,
        tags: &[(String, String)],
    ) -> Result<(), ResourceError> {
        self.check_references(props).await?;
        let suppressor = props.suppressor.as_ref();
        let request = self
            .alarms
            .cw
            .put_composite_alarm()
            .alarm_name(&props.alarm_name)
            .alarm_rule(&props.rule)
            .alarm_description(props.stored_description())
            .set_actions_suppressor(suppressor.map(|s| s.alarm.clone()))
            .set_actions_suppressor_wait_period(suppressor.map(|s| s.wait_period))
            .set_actions_suppressor_extension_period(suppressor.map(|s| s.extension_period))
            .set_alarm_actions(Some(props.alarm_actions.clone()))
            .set_ok_actions(Some(props.ok_actions.clone()))
            .set_tags(Some(sdk_tags(tags)));
        self.alarms
            .pacer
            .send("PutCompositeAlarm", || request.clone().send())
            .await
            .map(|_| ())
            .map_err(|e| self.alarms.err("PutCompositeAlarm", &props.alarm_name, &e))
    }
}

impl NamedResource for CompositeAlarms {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "AlarmName";
    type Properties = CompositeProps;
    type Live = LiveAlarm;

    fn decode(props: &mut Props) -> Result<CompositeProps, PropertyError> {
        decode(props)
    }

    fn name(props: &CompositeProps) -> &str {
        &props.alarm_name
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
        props: &CompositeProps,
    ) -> Result<Created<LiveAlarm>, ResourceError> {
        if let Some(existing) = self.describe(&props.alarm_name).await? {
            return Ok(Created::Exists(existing));
        }
        let mut tags = alarm_tags(&props.tags, &props.severity, props.runbook.as_deref());
        tags.extend(request.resource_tags(&[], props.environment));
        self.put(props, &tags).await?;
        let live = self.describe(&props.alarm_name).await?.ok_or_else(|| {
            ResourceError::refused(
                self.alarms.resource_type,
                format!("PutCompositeAlarm for {} left no alarm", props.alarm_name),
            )
        })?;
        Ok(Created::New(outcome(&live, COMPOSITE_BILLED)))
    }

    async fn reconcile(
        &self,
        live: &LiveAlarm,
        old: Option<&CompositeProps>,
        new: &CompositeProps,
    ) -> Result<Outcome, ResourceError> {
        if !live.composite {
            return Err(ResourceError::refused(
                self.alarms.resource_type,
                format!(
                    "AlarmName {} is a metric alarm; choose another name",
                    live.name
                ),
            ));
        }
        let plan = self.plan_update(live, old, new).await?;
        if !plan.is_empty() {
            tracing::info!(alarm = %live.name, changes = ?plan.properties(), "updating");
        }
        if plan.needs(&Step::PutCompositeAlarm) {
            self.put(new, &[]).await?;
        }
        for change in &plan.changes {
            if let Step::Retag(untag, tag) = &change.step {
                self.alarms.retag(&live.arn, untag, tag).await?;
            }
        }
        Ok(outcome(live, COMPOSITE_BILLED))
    }

    async fn drift(
        &self,
        live: &LiveAlarm,
        owner_tags: &BTreeMap<String, String>,
        props: &CompositeProps,
    ) -> Result<Drift, ResourceError> {
        if !live.composite {
            return Ok(Drift::Foreign("a metric alarm of the same name".to_owned()));
        }
        Ok(Drift::of(&plan_with_tags(
            live,
            owner_tags,
            Some(props),
            props,
        )))
    }

    async fn delete(&self, name: &str, _props: &CompositeProps) -> Result<(), ResourceError> {
        self.alarms.delete(&[name.to_owned()]).await
    }
}
