//! A metric alarm's definition: decoded from `Custom::MetricAlarm` properties (or built by the
//! baseline), validated before any call, and turned into one PutMetricAlarm. The decoding is in
//! `alarm_decode.rs`.

pub use crate::alarm_decode::{decode, optional_number};
pub use crate::alarm_metrics::dimensions;
use shared::cost::Billed;
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
    /// The description as stackhand writes it: the user's, then the severity line alarm-router
    /// reads from the state-change event.
    pub fn stored_description(&self) -> String {
        shared::alarm_tags::with_severity(self.description.as_deref(), &self.severity)
    }

    /// The alarm metrics CloudWatch bills monthly: each metric it evaluates (high resolution
    /// when its period is under a minute), an anomaly band counting two more (its bounds).
    pub fn billed(&self) -> Billed {
        let mut billed = Billed::NONE;
        let mut count = |period: i32, metrics: u32| match period < 60 {
            true => billed.high_resolution_alarm_metrics += metrics,
            false => billed.alarm_metrics += metrics,
        };
        match &self.watched {
            Watched::Single { period, .. } => {
                count(
                    *period,
                    if self.anomaly_band_width.is_some() {
                        3
                    } else {
                        1
                    },
                );
            }
            Watched::Math(queries) => {
                for query in queries {
                    if let Some((_, period, _)) = &query.metric {
                        count(*period, 1);
                    }
                    let band = query
                        .expression
                        .as_deref()
                        .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"));
                    if band {
                        count(60, 2);
                    }
                }
            }
        }
        billed
    }

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

    /// The alarm as PutMetricAlarm defines it, property by property, in the form DescribeAlarms
    /// reports it (defaults filled in, sets sorted): what an Update's plan compares.
    pub fn definition(&self) -> BTreeMap<&'static str, String> {
        let mut d = BTreeMap::new();
        d.insert("AlarmDescription", self.stored_description());
        d.insert("EvaluationPeriods", self.evaluation_periods.to_string());
        d.insert(
            "DatapointsToAlarm",
            self.datapoints_to_alarm
                .unwrap_or(self.evaluation_periods)
                .to_string(),
        );
        d.insert("Threshold", self.threshold.map(number).unwrap_or_default());
        d.insert("ComparisonOperator", self.comparison_operator.clone());
        d.insert(
            "TreatMissingData",
            self.treat_missing_data
                .clone()
                .unwrap_or_else(|| "missing".to_owned()),
        );
        d.insert("AlarmActions", arns_text(&self.alarm_actions));
        d.insert("OkActions", arns_text(&self.ok_actions));
        match (self.queries(), &self.watched) {
            (Some(queries), _) => {
                let mut texts: Vec<String> = queries
                    .iter()
                    .map(|q| {
                        query_text(
                            &q.id,
                            q.expression.as_deref(),
                            q.metric.as_ref().map(|(m, period, stat)| QueryMetric {
                                namespace: &m.namespace,
                                name: &m.metric_name,
                                dimensions: &m.dimensions,
                                period: *period,
                                stat,
                            }),
                        )
                    })
                    .collect();
                texts.sort();
                d.insert("Metrics", texts.join("; "));
            }
            (
                None,
                Watched::Single {
                    metric,
                    statistic,
                    period,
                    ..
                },
            ) => {
                d.insert("Namespace", metric.namespace.clone());
                d.insert("MetricName", metric.metric_name.clone());
                d.insert("Dimensions", dimensions_text(&metric.dimensions));
                d.insert("Statistic", statistic.clone());
                d.insert("Period", period.to_string());
            }
            (None, Watched::Math(_)) => {}
        }
        d
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

/// The metric of a metric-math query, as [`query_text`] shows it.
pub struct QueryMetric<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub dimensions: &'a BTreeMap<String, String>,
    pub period: i32,
    pub stat: &'a str,
}

/// A metric-math query as a plan compares it: id, then its expression or its metric, period and
/// statistic (labels and ReturnData are presentation, not what the alarm watches).
pub fn query_text(id: &str, expression: Option<&str>, metric: Option<QueryMetric<'_>>) -> String {
    match (expression, metric) {
        (Some(expression), _) => format!("{id}: {expression}"),
        (None, Some(m)) => format!(
            "{id}: {} {} [{}] {} {} s",
            m.namespace,
            m.name,
            dimensions_text(m.dimensions),
            m.stat,
            m.period
        ),
        (None, None) => format!("{id}: (nothing)"),
    }
}

/// Dimensions as a set: `Name=Value` sorted, so the order they were given in never counts.
pub fn dimensions_text(dims: &BTreeMap<String, String>) -> String {
    dims.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A list of ARNs as a set.
pub fn arns_text(arns: &[String]) -> String {
    let mut sorted: Vec<&str> = arns.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.join(", ")
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
