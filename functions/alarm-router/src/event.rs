//! The EventBridge "CloudWatch Alarm State Change" event, for metric, metric-math, anomaly-band
//! and composite alarms. `aws_lambda_events`' `CloudWatchAlarm` is a different payload (an alarm
//! invoking Lambda directly), so the detail type is ours.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
pub const SOURCE: &str = "aws.cloudwatch";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmDetail {
    pub alarm_name: String,
    pub state: AlarmState,
    #[serde(default)]
    pub previous_state: Option<AlarmState>,
    #[serde(default)]
    pub configuration: Option<Configuration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmState {
    pub value: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// A JSON document in a string; see [`ReasonData`].
    #[serde(default)]
    pub reason_data: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub actions_suppressed_by: Option<String>,
    #[serde(default)]
    pub actions_suppressed_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metrics: Vec<MetricEntry>,
    /// Composite alarms only.
    #[serde(default)]
    pub alarm_rule: Option<String>,
    #[serde(default)]
    pub actions_suppressor: Option<String>,
}

/// One entry of `configuration.metrics`: a metric (`metricStat`) or an expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricEntry {
    pub id: String,
    #[serde(default)]
    pub metric_stat: Option<MetricStat>,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub return_data: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricStat {
    pub metric: Metric,
    #[serde(default)]
    pub period: Option<u64>,
    #[serde(default)]
    pub stat: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
}

/// `state.reasonData`, parsed: a metric alarm's datapoints and threshold or band, or a
/// composite's triggering children. Every field is optional because the shapes differ.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonData {
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub recent_datapoints: Vec<f64>,
    #[serde(default)]
    pub recent_lower_thresholds: Vec<f64>,
    #[serde(default)]
    pub recent_upper_thresholds: Vec<f64>,
    #[serde(default)]
    pub statistic: Option<String>,
    #[serde(default)]
    pub period: Option<u64>,
    #[serde(default)]
    pub triggering_alarms: Vec<TriggeringAlarm>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TriggeringAlarm {
    pub arn: String,
    #[serde(default)]
    pub state: Option<ChildState>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChildState {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl AlarmState {
    /// The parsed reasonData; absent or unparsable data gives the empty default, since the
    /// notification must still go out.
    pub fn reason_data(&self) -> ReasonData {
        self.reason_data
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

pub type AlarmEvent = EventBridgeEvent<AlarmDetail>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error(
        "not a CloudWatch alarm state change: got detail-type {detail_type} from source {source_name}"
    )]
    NotAnAlarmEvent {
        detail_type: String,
        source_name: String,
    },
    #[error("a CloudWatch alarm state change that does not parse: {0}")]
    Malformed(String),
}

fn field(event: &Value, name: &str) -> String {
    match event.get(name) {
        Some(Value::String(s)) => format!("\"{s}\""),
        Some(other) => shared::props::show(other),
        None => "(none)".to_owned(),
    }
}

/// Checks the envelope first, so a wrong event is named for what it is, then decodes.
pub fn parse(event: &Value) -> Result<AlarmEvent, EventError> {
    let detail_type = event.get("detail-type").and_then(Value::as_str);
    let source = event.get("source").and_then(Value::as_str);
    if detail_type != Some(DETAIL_TYPE) || source != Some(SOURCE) {
        return Err(EventError::NotAnAlarmEvent {
            detail_type: field(event, "detail-type"),
            source_name: field(event, "source"),
        });
    }
    serde_json::from_value(event.clone()).map_err(|e| EventError::Malformed(e.to_string()))
}

impl AlarmDetail {
    pub fn is_composite(&self) -> bool {
        self.configuration
            .as_ref()
            .is_some_and(|c| c.alarm_rule.is_some())
    }

    /// The anomaly-detection band expression, if the alarm has one.
    pub fn band_expression(&self) -> Option<&str> {
        self.configuration.as_ref()?.metrics.iter().find_map(|m| {
            m.expression
                .as_deref()
                .filter(|e| e.contains("ANOMALY_DETECTION_BAND"))
        })
    }
}
