//! `Custom::AlarmBaseline`: the environment-sized alarm set over a cluster's ECS and Container
//! Insights metrics (docs/contract.md, profiles), decided here (pure) so the sizes are unit-tested.

use crate::alarm_spec::{AlarmSpec, MetricRef, Watched};
use crate::baseline_catalogue::{
    CLUSTER_BASE, CLUSTER_PROD, ECS, INSIGHTS, Kind, LT, SERVICE_BASE, SERVICE_PROD, static_kind,
};
use crate::composite::CompositeProps;
use crate::cw::alarm_tags;
use crate::metric_filter::FilterProps;
use serde_json::{Value, json};
use shared::cost::Billed;
use shared::profile::Environment;
use shared::props::{LOG_GROUP_NAME_RULE, is_log_group_name, show};
use shared::{Problem, PropertyError, Props, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::AlarmBaseline";
pub const PHYSICAL_ID_PREFIX: &str = "baseline/";
/// Bounded by design: a prod baseline makes hundreds of alarms, whose names would overflow
/// CloudFormation's 4,096-byte response, so their common prefix stands for them.
pub const ATTRIBUTES: [&str; 5] = [
    "AlarmNamePrefix",
    "AlarmCount",
    "CompositeAlarmName",
    "DashboardNames",
    shared::cost::ATTRIBUTE,
];
/// Marks every alarm a baseline made: `<Prefix>`.
pub const TAG_BASELINE: &str = "stackhand:baseline";
pub const LOG_ERROR_PATTERN: &str = "?ERROR ?Error ?error ?FATAL ?Exception";

#[derive(Debug, Clone, PartialEq)]
pub struct BaselineProps {
    pub environment: Environment,
    pub prefix: String,
    pub cluster_name: String,
    pub service_names: Vec<String>,
    pub alert_topic: Option<String>,
    pub critical_topic: Option<String>,
    pub log_group_name: Option<String>,
    pub tags: Vec<Tag>,
}

impl BaselineProps {
    pub fn physical_id(&self) -> String {
        format!("{PHYSICAL_ID_PREFIX}{}", self.prefix)
    }
}

fn is_prefix(text: &str) -> bool {
    (1..=100).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn is_name(text: &str) -> bool {
    (1..=255).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn topic(props: &mut Props, name: &'static str) -> Result<Option<String>, PropertyError> {
    props.optional_valid_string(
        name,
        "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
        |t| t.starts_with("arn:") && t.contains(":sns:"),
    )
}

pub fn decode(props: &mut Props) -> Result<BaselineProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let prefix = props.required_valid_string(
        "Prefix",
        "must be 1 to 100 letters, digits, '-' and '_' (it names dashboards, which take no '.')",
        is_prefix,
    )?;
    let cluster_name = props.required_valid_string(
        "ClusterName",
        "must be 1 to 255 letters, digits, '-' and '_'",
        is_name,
    )?;
    let service_names = props
        .optional_string_list("ServiceNames")?
        .unwrap_or_default();
    if let Some(bad) = service_names.iter().find(|s| !is_name(s)) {
        return Err(props.error(
            "ServiceNames",
            Problem::Invalid {
                rule: "must be ECS service names (letters, digits, '-' and '_')".to_owned(),
                got: show(&Value::String(bad.clone())),
            },
        ));
    }
    if service_names.is_empty() && environment.profile().baseline_alarms.min > 3 {
        return Err(props.error(
            "ServiceNames",
            Problem::RequiredWhen(format!(
                "Environment is {environment} (the baseline watches each service)"
            )),
        ));
    }
    let alert_topic = topic(props, "AlertTopicArn")?;
    let critical_topic = topic(props, "CriticalTopicArn")?;
    let log_group_name =
        props.optional_valid_string("LogGroupName", LOG_GROUP_NAME_RULE, is_log_group_name)?;
    let tags = props.tags()?;
    Ok(BaselineProps {
        environment,
        prefix,
        cluster_name,
        service_names,
        alert_topic,
        critical_topic,
        log_group_name,
        tags,
    })
}

/// Everything a baseline owns, as its properties want it (compared with the live alarms in
/// `baseline_plan.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub alarms: Vec<AlarmSpec>,
    pub composite: Option<(String, String)>,
    pub dashboards: Vec<(String, Value)>,
    pub filter: Option<FilterProps>,
}

impl Desired {
    pub fn alarm_names(&self) -> Vec<String> {
        self.alarms.iter().map(|a| a.alarm_name.clone()).collect()
    }

    /// Every alarm, the composite and the dashboards, as billed monthly.
    pub fn billed(&self) -> Billed {
        let composites = Billed {
            composite_alarms: u32::from(self.composite.is_some()),
            dashboards: self.dashboards.len() as u32,
            ..Billed::NONE
        };
        self.alarms
            .iter()
            .fold(composites, |sum, alarm| sum + alarm.billed())
    }
}

fn actions(props: &BaselineProps, severity: &str) -> Vec<String> {
    let critical = severity == "critical" && props.environment.profile().critical_alerts;
    match (critical, &props.critical_topic, &props.alert_topic) {
        (true, Some(topic), _) => vec![topic.clone()],
        (_, _, Some(topic)) => vec![topic.clone()],
        _ => Vec::new(),
    }
}

fn alarm(
    props: &BaselineProps,
    name: String,
    kind: &Kind,
    dimensions: BTreeMap<String, String>,
) -> AlarmSpec {
    let (comparison_operator, threshold, band) = match kind.threshold {
        Some((op, t)) => (op.to_owned(), Some(t), None),
        None => (
            "LessThanLowerOrGreaterThanUpperThreshold".to_owned(),
            None,
            Some(2.0),
        ),
    };
    let actions = actions(props, kind.severity);
    AlarmSpec {
        alarm_name: name,
        description: Some(format!(
            "{} ({} baseline, {})",
            kind.what, props.prefix, props.environment
        )),
        watched: Watched::Single {
            metric: MetricRef {
                namespace: kind.namespace.to_owned(),
                metric_name: kind.metric.to_owned(),
                dimensions,
            },
            statistic: kind.statistic.to_owned(),
            extended: false,
            period: kind.period,
        },
        evaluation_periods: kind.periods,
        datapoints_to_alarm: None,
        threshold,
        comparison_operator,
        treat_missing_data: Some(
            if kind.suffix.contains("tasks-") && kind.threshold.is_some_and(|(op, _)| op == LT) {
                "breaching"
            } else {
                "missing"
            }
            .to_owned(),
        ),
        anomaly_band_width: band,
        severity: kind.severity.to_owned(),
        runbook: None,
        ok_actions: actions.clone(),
        alarm_actions: actions,
    }
}

fn log_alarm(props: &BaselineProps, group: &str) -> (AlarmSpec, FilterProps) {
    let namespace = format!("Stackhand/{}", props.prefix);
    let filter = FilterProps {
        environment: props.environment,
        log_group_name: group.to_owned(),
        filter_name: format!("{}-errors", props.prefix),
        pattern: LOG_ERROR_PATTERN.to_owned(),
        namespace: namespace.clone(),
        metric_name: "LogErrors".to_owned(),
        metric_value: "1".to_owned(),
        default_value: Some(0.0),
        unit: None,
        physical_id: format!("{group}|{}-errors", props.prefix),
    };
    let kind = static_kind(
        "log-errors",
        ("", "", "Sum"),
        (300, 1),
        ("GreaterThanOrEqualToThreshold", 1.0),
        "warning",
        "errors in the service logs",
    );
    let mut spec = alarm(
        props,
        format!("{}-log-errors", props.prefix),
        &kind,
        BTreeMap::new(),
    );
    spec.watched = Watched::Single {
        metric: MetricRef {
            namespace,
            metric_name: "LogErrors".to_owned(),
            dimensions: BTreeMap::new(),
        },
        statistic: "Sum".to_owned(),
        extended: false,
        period: 300,
    };
    spec.treat_missing_data = Some("notBreaching".to_owned());
    spec.description = Some(format!(
        "errors in {group} ({} baseline, {})",
        props.prefix, props.environment
    ));
    (spec, filter)
}

/// The baseline for `props`; `alarm_arn` turns a name into an ARN for dashboard widgets.
pub fn desired(props: &BaselineProps, region: &str, alarm_arn: impl Fn(&str) -> String) -> Desired {
    let profile = props.environment.profile();
    let p = &props.prefix;
    let cluster_dims: BTreeMap<String, String> =
        [("ClusterName".to_owned(), props.cluster_name.clone())].into();
    let cluster = |kind: &Kind| {
        alarm(
            props,
            format!("{p}-cluster-{}", kind.suffix),
            kind,
            cluster_dims.clone(),
        )
    };
    let service = |svc: &str, kind: &Kind| {
        let mut dims = cluster_dims.clone();
        dims.insert("ServiceName".to_owned(), svc.to_owned());
        alarm(props, format!("{p}-{svc}-{}", kind.suffix), kind, dims)
    };
    let log = props.log_group_name.as_deref().map(|g| log_alarm(props, g));

    // Most important first; small environments keep the head of the list.
    let mut ranked: Vec<AlarmSpec> = vec![cluster(&CLUSTER_BASE[0])];
    if let Some((spec, _)) = &log {
        ranked.push(spec.clone());
    }
    ranked.push(cluster(&CLUSTER_BASE[1]));
    ranked.push(cluster(&CLUSTER_BASE[2]));
    for svc in &props.service_names {
        ranked.extend(SERVICE_BASE.iter().map(|k| service(svc, k)));
    }
    if profile.anomaly_alarms {
        ranked.extend(CLUSTER_PROD.iter().map(cluster));
        for svc in &props.service_names {
            ranked.extend(SERVICE_PROD.iter().map(|k| service(svc, k)));
        }
    }
    let limit = profile.baseline_alarms.max.unwrap_or(usize::MAX);
    ranked.truncate(limit);
    let filter = log.and_then(|(spec, filter)| {
        ranked
            .iter()
            .any(|a| a.alarm_name == spec.alarm_name)
            .then_some(filter)
    });

    let composite = profile.anomaly_alarms.then(|| {
        let critical: Vec<String> = ranked
            .iter()
            .filter(|a| a.severity == "critical")
            .map(|a| format!("ALARM(\"{}\")", a.alarm_name))
            .collect();
        (format!("{p}-service-health"), critical.join(" OR "))
    });

    let mut dashboards = Vec::new();
    if profile.baseline_dashboards >= 1 {
        let arns: Vec<String> = ranked.iter().map(|a| alarm_arn(&a.alarm_name)).collect();
        let metric = |namespace: &str, name: &str, extra: &[(&str, &str)]| {
            let mut m = vec![
                json!(namespace),
                json!(name),
                json!("ClusterName"),
                json!(props.cluster_name),
            ];
            for (k, v) in extra {
                m.push(json!(k));
                m.push(json!(v));
            }
            Value::Array(m)
        };
        let overview = json!({"widgets": [
            {"type": "alarm", "x": 0, "y": 0, "width": 24, "height": 6, "properties": {"title": format!("{p} alarms"), "alarms": arns}},
            {"type": "metric", "x": 0, "y": 6, "width": 12, "height": 6, "properties": {"title": "Cluster CPU and memory (%)", "region": region, "stat": "Average", "period": 300,
                "metrics": [metric(ECS, "CPUUtilization", &[]), metric(ECS, "MemoryUtilization", &[])]}},
            {"type": "metric", "x": 12, "y": 6, "width": 12, "height": 6, "properties": {"title": "Running tasks", "region": region, "stat": "Minimum", "period": 60,
                "metrics": [metric(INSIGHTS, "RunningTaskCount", &[])]}}
        ]});
        dashboards.push((format!("{p}-overview"), overview));
    }
    if profile.baseline_dashboards >= 2 {
        let widgets: Vec<Value> = props.service_names.iter().enumerate().map(|(i, svc)| {
            let m = |ns: &str, name: &str| json!([ns, name, "ClusterName", props.cluster_name, "ServiceName", svc]);
            json!({"type": "metric", "x": (i % 2) * 12, "y": (i / 2) * 6, "width": 12, "height": 6,
                "properties": {"title": format!("{svc}: CPU, memory (%) and running tasks"), "region": region, "stat": "Average", "period": 300,
                    "metrics": [m(ECS, "CPUUtilization"), m(ECS, "MemoryUtilization"), m(INSIGHTS, "RunningTaskCount")]}})
        }).collect();
        dashboards.push((format!("{p}-services"), json!({"widgets": widgets})));
    }
    Desired {
        alarms: ranked,
        composite,
        dashboards,
        filter,
    }
}

/// Names a baseline with this prefix could have made, for cleanup without old properties.
pub fn dashboard_names(prefix: &str) -> [String; 2] {
    [format!("{prefix}-overview"), format!("{prefix}-services")]
}

#[cfg(test)]
#[path = "baseline_tests.rs"]
mod tests;

/// The tags on each of the baseline's alarms: the user's, the severity, and the baseline's
/// Prefix (which finds them again).
pub fn alarm_tags_for(props: &BaselineProps, severity: &str) -> Vec<(String, String)> {
    let mut tags = alarm_tags(&props.tags, severity, None);
    tags.push((TAG_BASELINE.to_owned(), props.prefix.clone()));
    tags
}

/// The baseline's composite, as a `Custom::CompositeAlarm` with these properties would be:
/// critical, alerting the critical topic (or the alert topic) on ALARM and OK.
pub fn composite_props(props: &BaselineProps, name: &str, rule: &str) -> CompositeProps {
    let topic: Vec<String> = props
        .critical_topic
        .clone()
        .or(props.alert_topic.clone())
        .into_iter()
        .collect();
    CompositeProps {
        environment: props.environment,
        alarm_name: name.to_owned(),
        rule: rule.to_owned(),
        description: Some(format!(
            "{} service health: any critical baseline alarm",
            props.prefix
        )),
        suppressor: None,
        severity: "critical".to_owned(),
        runbook: None,
        alarm_actions: topic.clone(),
        ok_actions: topic,
        tags: props.tags.clone(),
    }
}
