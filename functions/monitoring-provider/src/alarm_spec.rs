//! A metric alarm's definition: decoded from `Custom::MetricAlarm` properties (or built by the
//! baseline), validated before any call, and turned into one PutMetricAlarm.

use serde_json::Value;
use shared::props::show;
use shared::{Problem, PropertyError, Props};
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
const MAX_ACTIONS: usize = 5;

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

fn check_evaluation_window(
    props: &Props,
    watched: &Watched,
    evaluation_periods: i32,
) -> Result<(), PropertyError> {
    let periods: Vec<i32> = match watched {
        Watched::Single { period, .. } => vec![*period],
        Watched::Math(queries) => queries
            .iter()
            .filter_map(|q| q.metric.as_ref().map(|(_, p, _)| *p))
            .collect(),
    };
    for period in periods {
        let window = i64::from(period) * i64::from(evaluation_periods);
        let limit = if period < 3600 {
            MAX_WINDOW_SHORT_PERIODS
        } else {
            MAX_WINDOW
        };
        let (span, of) = if period < 3600 {
            ("1 day (86,400 s)", "periods under an hour")
        } else {
            ("7 days (604,800 s)", "periods of an hour or more")
        };
        props.rule(
            window <= limit,
            "EvaluationPeriods",
            Problem::Invalid {
                rule: format!("times Period ({period} s) must be at most {span} for {of}"),
                got: format!("{evaluation_periods}, a window of {window} s"),
            },
        )?;
    }
    Ok(())
}

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

fn is_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() > 8
        && !text.contains(char::is_whitespace)
}

/// 1–255 characters, no control characters.
pub fn is_alarm_name(name: &str) -> bool {
    (1..=255).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

fn invalid(props: &Props, name: &str, rule: impl Into<String>, got: String) -> PropertyError {
    props.error(
        name,
        Problem::Invalid {
            rule: rule.into(),
            got,
        },
    )
}

/// `Dimensions`: a map `{"ClusterName": "x"}` or a list of `{Name, Value}`.
pub fn dimensions(
    props: &mut Props,
    name: &'static str,
) -> Result<BTreeMap<String, String>, PropertyError> {
    const EXPECTED: &str = "a map of names to values, or a list of {Name, Value}";
    let Some(value) = props.take(name) else {
        return Ok(BTreeMap::new());
    };
    let wrong = |props: &Props, got: &Value| {
        props.error(
            name,
            Problem::WrongType {
                expected: EXPECTED,
                got: show(got),
            },
        )
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let mut out = BTreeMap::new();
    match &value {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone(), text(v).ok_or_else(|| wrong(props, &value))?);
            }
        }
        Value::Array(items) => {
            for item in items {
                let (Some(k), Some(v)) = (
                    item.get("Name").and_then(Value::as_str),
                    item.get("Value").and_then(text),
                ) else {
                    return Err(wrong(props, item));
                };
                out.insert(k.to_owned(), v);
            }
        }
        other => return Err(wrong(props, other)),
    }
    if out.len() > 30 {
        return Err(invalid(
            props,
            name,
            "may hold at most 30 dimensions",
            out.len().to_string(),
        ));
    }
    Ok(out)
}

fn actions(props: &mut Props, name: &'static str) -> Result<Vec<String>, PropertyError> {
    let list = props.optional_string_list(name)?.unwrap_or_default();
    if list.len() > MAX_ACTIONS {
        return Err(invalid(
            props,
            name,
            format!("may hold at most {MAX_ACTIONS} actions"),
            list.len().to_string(),
        ));
    }
    if let Some(bad) = list.iter().find(|a| !a.starts_with("arn:")) {
        return Err(invalid(
            props,
            name,
            "must be ARNs (an SNS topic, an Auto Scaling policy, a Systems Manager action...)",
            show(&Value::String(bad.clone())),
        ));
    }
    Ok(list)
}

fn period(props: &mut Props, name: &'static str) -> Result<Option<i32>, PropertyError> {
    match props.optional_int(name)? {
        None => Ok(None),
        // Bounded by the check: at most 86400 * 7.
        Some(p) if is_valid_period(p) && p <= 604_800 => Ok(Some(p as i32)),
        Some(p) => Err(invalid(
            props,
            name,
            "must be 10, 30 or a multiple of 60 seconds",
            p.to_string(),
        )),
    }
}

fn is_query_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

fn decode_queries(props: &mut Props) -> Result<Option<Vec<Query>>, PropertyError> {
    let Some(items) = props.optional_object_list("Metrics")? else {
        return Ok(None);
    };
    let mut queries = Vec::with_capacity(items.len());
    for mut item in items {
        let id = item.required_valid_string(
            "Id",
            "must start with a lowercase letter and hold letters, digits and '_'",
            is_query_id,
        )?;
        let expression = item.optional_string("Expression")?;
        let label = item.optional_string("Label")?;
        let return_data = item.optional_bool("ReturnData")?.unwrap_or(true);
        let query_period = period(&mut item, "Period")?;
        let stat = item.take("MetricStat");
        let metric = match stat {
            None => None,
            Some(Value::Object(map)) => {
                let mut stat = Props::new(props.resource_type(), &Value::Object(map))?;
                let inner = stat.take("Metric").unwrap_or(Value::Null);
                let mut metric_props = Props::new(props.resource_type(), &inner)?;
                let metric = MetricRef {
                    namespace: metric_props.required_string("Namespace")?,
                    metric_name: metric_props.required_string("MetricName")?,
                    dimensions: dimensions(&mut metric_props, "Dimensions")?,
                };
                metric_props.finish()?;
                let stat_period = period(&mut stat, "Period")?
                    .or(query_period)
                    .ok_or_else(|| item.error("MetricStat.Period", Problem::Missing))?;
                let statistic = stat.required_valid_string("Stat", "must be SampleCount, Average, Sum, Minimum, Maximum or an extended statistic such as p99", |s| STATISTICS.contains(&s) || is_extended_statistic(s))?;
                stat.optional_string("Unit")?;
                stat.finish()?;
                Some((metric, stat_period, statistic))
            }
            Some(other) => {
                return Err(item.error(
                    "MetricStat",
                    Problem::WrongType {
                        expected: "an object",
                        got: show(&other),
                    },
                ));
            }
        };
        match (&metric, &expression) {
            (Some(_), Some(_)) => {
                return Err(item.error(
                    "Expression",
                    Problem::Conflict {
                        other: "MetricStat".to_owned(),
                    },
                ));
            }
            (None, None) => {
                return Err(item.error(
                    "Expression",
                    Problem::RequiredWhen("MetricStat is absent".to_owned()),
                ));
            }
            _ => {}
        }
        item.finish()?;
        queries.push(Query {
            id,
            metric,
            expression,
            label,
            return_data,
        });
    }
    if queries.is_empty() {
        return Err(invalid(
            props,
            "Metrics",
            "must hold at least one metric or expression",
            "an empty list".to_owned(),
        ));
    }
    let returning = queries.iter().filter(|q| q.return_data).count();
    if returning != 1 {
        return Err(invalid(
            props,
            "Metrics",
            "must have exactly one entry with ReturnData true (the one the alarm watches)",
            format!("{returning}"),
        ));
    }
    Ok(Some(queries))
}

/// Decodes and checks the alarm properties shared by `Custom::MetricAlarm`.
pub fn decode(props: &mut Props) -> Result<AlarmSpec, PropertyError> {
    let alarm_name = props.required_valid_string(
        "AlarmName",
        "must be 1 to 255 characters without control characters",
        is_alarm_name,
    )?;
    let description = props.optional_string("AlarmDescription")?;
    let namespace = props.optional_string("Namespace")?;
    let metric_name = props.optional_string("MetricName")?;
    let dims = dimensions(props, "Dimensions")?;
    let statistic = props.optional_choice("Statistic", &STATISTICS)?;
    let extended = props.optional_valid_string(
        "ExtendedStatistic",
        "must be a percentile or trimmed statistic such as p99, tm90 or IQM",
        is_extended_statistic,
    )?;
    let metric_period = period(props, "Period")?;
    let queries = decode_queries(props)?;
    let evaluation_periods = props
        .optional_int_in("EvaluationPeriods", 1, 100_000)?
        .unwrap_or(1) as i32;
    let datapoints_to_alarm = props
        .optional_int_in("DatapointsToAlarm", 1, 100_000)?
        .map(|d| d as i32);
    let threshold = optional_number(props, "Threshold")?;
    let comparison_operator = props.optional_choice("ComparisonOperator", &COMPARISON_OPERATORS)?;
    let treat_missing_data = props
        .optional_choice("TreatMissingData", &TREAT_MISSING_DATA)?
        .map(str::to_owned);
    let anomaly_band_width = optional_number(props, "AnomalyBandWidth")?;
    let severity = props
        .optional_choice("Severity", &SEVERITIES)?
        .unwrap_or("warning")
        .to_owned();
    let runbook = props.optional_valid_string("Runbook", "must be an http(s) URL", is_url)?;
    let alarm_actions = actions(props, "AlarmActions")?;
    let ok_actions = actions(props, "OkActions")?;

    if let (Some(_), Some(_)) = (statistic, &extended) {
        return Err(props.error(
            "Statistic",
            Problem::Conflict {
                other: "ExtendedStatistic".to_owned(),
            },
        ));
    }
    if let Some(d) = datapoints_to_alarm.filter(|d| *d > evaluation_periods) {
        let e = evaluation_periods;
        {
            return Err(invalid(
                props,
                "DatapointsToAlarm",
                format!("must not exceed EvaluationPeriods ({e})"),
                d.to_string(),
            ));
        }
    }
    let watched = match queries {
        Some(queries) => {
            for (name, given) in [
                ("Namespace", namespace.is_some()),
                ("MetricName", metric_name.is_some()),
                ("Statistic", statistic.is_some() || extended.is_some()),
                ("Period", metric_period.is_some()),
                ("Dimensions", !dims.is_empty()),
            ] {
                if given {
                    return Err(props.error(
                        name,
                        Problem::Conflict {
                            other: "Metrics (give one metric, or a metric-math list)".to_owned(),
                        },
                    ));
                }
            }
            if anomaly_band_width.is_some() {
                return Err(props.error(
                    "AnomalyBandWidth",
                    Problem::OnlyWith(
                        "a single metric (Namespace, MetricName, Statistic, Period), not Metrics"
                            .to_owned(),
                    ),
                ));
            }
            Watched::Math(queries)
        }
        None => {
            let namespace = namespace.ok_or_else(|| {
                props.error(
                    "Namespace",
                    Problem::RequiredWhen("Metrics is absent".to_owned()),
                )
            })?;
            let metric_name = metric_name.ok_or_else(|| {
                props.error(
                    "MetricName",
                    Problem::RequiredWhen("Metrics is absent".to_owned()),
                )
            })?;
            let period = metric_period.ok_or_else(|| {
                props.error(
                    "Period",
                    Problem::RequiredWhen("Metrics is absent".to_owned()),
                )
            })?;
            let (statistic, extended) = match (statistic, extended) {
                (Some(s), None) => (s.to_owned(), false),
                (None, Some(e)) => (e, true),
                _ => {
                    return Err(props.error(
                        "Statistic",
                        Problem::RequiredWhen(
                            "Metrics is absent (or give ExtendedStatistic)".to_owned(),
                        ),
                    ));
                }
            };
            if anomaly_band_width.is_some() && extended {
                return Err(props.error("AnomalyBandWidth", Problem::OnlyWith("Statistic (anomaly detectors model SampleCount, Average, Sum, Minimum or Maximum)".to_owned())));
            }
            Watched::Single {
                metric: MetricRef {
                    namespace,
                    metric_name,
                    dimensions: dims,
                },
                statistic,
                extended,
                period,
            }
        }
    };
    check_evaluation_window(props, &watched, evaluation_periods)?;
    let comparison_operator = match (anomaly_band_width, comparison_operator) {
        (Some(width), op) => {
            if !(width > 0.0 && width <= 100.0) {
                return Err(invalid(
                    props,
                    "AnomalyBandWidth",
                    "must be a number of standard deviations above 0 (2 is typical)",
                    number(width),
                ));
            }
            if threshold.is_some() {
                return Err(props.error(
                    "Threshold",
                    Problem::Conflict {
                        other: "AnomalyBandWidth (the band is the threshold)".to_owned(),
                    },
                ));
            }
            let op = op.unwrap_or("LessThanLowerOrGreaterThanUpperThreshold");
            if !BAND_OPERATORS.contains(&op) {
                return Err(invalid(
                    props,
                    "ComparisonOperator",
                    format!(
                        "with AnomalyBandWidth must be one of {}",
                        BAND_OPERATORS.join(", ")
                    ),
                    show(&Value::String(op.to_owned())),
                ));
            }
            op.to_owned()
        }
        (None, op) => {
            let op = op.ok_or_else(|| props.error("ComparisonOperator", Problem::Missing))?;
            if BAND_OPERATORS.contains(&op) {
                return Err(invalid(
                    props,
                    "ComparisonOperator",
                    "with a static Threshold must be GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold",
                    show(&Value::String(op.to_owned())),
                ));
            }
            if threshold.is_none() {
                return Err(props.error(
                    "Threshold",
                    Problem::RequiredWhen("AnomalyBandWidth is absent".to_owned()),
                ));
            }
            op.to_owned()
        }
    };
    Ok(AlarmSpec {
        alarm_name,
        description,
        watched,
        evaluation_periods,
        datapoints_to_alarm,
        threshold,
        comparison_operator,
        treat_missing_data,
        anomaly_band_width,
        severity,
        runbook,
        alarm_actions,
        ok_actions,
    })
}

/// A number, or a string holding one.
pub fn optional_number(
    props: &mut Props,
    name: &'static str,
) -> Result<Option<f64>, PropertyError> {
    match props.take(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| {
                props.error(
                    name,
                    Problem::WrongType {
                        expected: "a number",
                        got: show(&Value::String(s)),
                    },
                )
            }),
        Some(other) => Err(props.error(
            name,
            Problem::WrongType {
                expected: "a number",
                got: show(&other),
            },
        )),
    }
}
