//! A metric alarm's definition: decoded from `Custom::MetricAlarm` properties (or built by the
//! baseline), validated before any call, and turned into one PutMetricAlarm. The decoding is in
//! `alarm_decode.rs`.

pub use crate::alarm_decode::{decode, optional_number};
pub use crate::alarm_metrics::dimensions;
use std::collections::BTreeMap;

pub const COMPARISON_OPERATORS: [&str; 7] = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];
/// The operators an anomaly-band alarm uses; the first four need a static threshold.
pub const BAND_OPERATORS: [&str; 3] = [
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];
pub const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
pub const TREAT_MISSING_DATA: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];
pub const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
/// The expression id of the band in an anomaly-band alarm.
pub const BAND_ID: &str = "ad1";

#[derive(Debug, Clone, PartialEq)]
pub struct MetricRef {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// CloudWatch evaluates at most one day of periods shorter than an hour, and at most seven
/// days otherwise (PutMetricAlarm: "EvaluationPeriods"); it rejects anything longer.
pub const MAX_WINDOW_SHORT_PERIODS: i64 = 86_400;
pub const MAX_WINDOW: i64 = 604_800;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub id: String,
    pub metric: Option<(MetricRef, i32, String)>,
    pub expression: Option<String>,
    pub label: Option<String>,
    pub return_data: bool,
}

/// What the alarm watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Watched {
    /// One metric with a statistic (`Statistic` or `ExtendedStatistic`).
    Single {
        metric: MetricRef,
        statistic: String,
        extended: bool,
        period: i32,
    },
    /// A metric-math list.
    Math(Vec<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmSpec {
    pub alarm_name: String,
    pub description: Option<String>,
    pub watched: Watched,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    /// Absent for anomaly-band alarms.
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    pub treat_missing_data: Option<String>,
    /// Standard deviations of the anomaly band, for a single metric.
    pub anomaly_band_width: Option<f64>,
    pub severity: String,
    pub runbook: Option<String>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

impl AlarmSpec {
    /// The metric-math queries PutMetricAlarm gets: the list itself, or for an anomaly-band alarm
    /// the metric and its band.
    pub fn queries(&self) -> Option<Vec<Query>> {
        match (&self.watched, self.anomaly_band_width) {
            (Watched::Math(queries), _) => Some(queries.clone()),
            (
                Watched::Single {
                    metric,
                    statistic,
                    period,
                    ..
                },
                Some(width),
            ) => Some(vec![
                Query {
                    id: "m1".to_owned(),
                    metric: Some((metric.clone(), *period, statistic.clone())),
                    expression: None,
                    label: None,
                    return_data: true,
                },
                Query {
                    id: BAND_ID.to_owned(),
                    metric: None,
                    expression: Some(format!("ANOMALY_DETECTION_BAND(m1, {})", number(width))),
                    label: Some(format!("{} (expected)", metric.metric_name)),
                    return_data: true,
                },
            ]),
            (Watched::Single { .. }, None) => None,
        }
    }

    /// The metric and statistic an anomaly detector models, for anomaly-band alarms.
    pub fn anomaly_detector(&self) -> Option<(&MetricRef, &str)> {
        match (&self.watched, self.anomaly_band_width) {
            (
                Watched::Single {
                    metric, statistic, ..
                },
                Some(_),
            ) => Some((metric, statistic)),
            _ => None,
        }
    }
}

pub fn number(value: f64) -> String {
    format!("{value}")
}

/// 10, 30, or a multiple of 60 seconds.
pub fn is_valid_period(period: i64) -> bool {
    period == 10 || period == 30 || (period >= 60 && period % 60 == 0)
}

/// `p99`, `p99.9`, `tm90`, `TM(10%:90%)`, `IQM`, `wm99`, `tc90`, `ts90`, `PR(:300)`...
pub fn is_extended_statistic(text: &str) -> bool {
    if text == "IQM" {
        return true;
    }
    let lower = text.to_ascii_lowercase();
    for prefix in ["p", "tm", "wm", "tc", "ts", "pr"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            if let Ok(n) = rest.parse::<f64>() {
                return (0.0..=100.0).contains(&n);
            }
            if rest.starts_with('(') && rest.ends_with(')') && rest.len() > 2 {
                return true;
            }
        }
    }
    false
}

pub fn is_alarm_name(name: &str) -> bool {
    (1..=255).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}
