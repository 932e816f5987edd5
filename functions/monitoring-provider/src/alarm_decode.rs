//! `Custom::MetricAlarm` properties into an [`AlarmSpec`], with every rule CloudWatch enforces
//! checked first: the metric or metric-math list, the evaluation window, thresholds and bands,
//! actions, severity and runbook.

use crate::alarm_metrics::{check_evaluation_window, decode_queries, dimensions, period};
use crate::alarm_spec::*;
use serde_json::Value;
use shared::props::show;
use shared::{Problem, PropertyError, Props};

const MAX_ACTIONS: usize = 5;

/// `AlarmDescription`, short enough for the severity line stackhand adds within CloudWatch's limit.
pub fn description(props: &mut Props) -> Result<Option<String>, PropertyError> {
    use shared::alarm_tags::{MAX_ALARM_DESCRIPTION, MAX_USER_DESCRIPTION};
    props.optional_valid_string(
        "AlarmDescription",
        &format!(
            "must be at most {MAX_USER_DESCRIPTION} characters: stackhand ends it with a severity line, within the {MAX_ALARM_DESCRIPTION} CloudWatch allows"
        ),
        |text| text.chars().count() <= MAX_USER_DESCRIPTION,
    )
}

fn is_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() > 8
        && !text.contains(char::is_whitespace)
}

/// 1–255 characters, no control characters.
pub(crate) fn invalid(
    props: &Props,
    name: &str,
    rule: impl Into<String>,
    got: String,
) -> PropertyError {
    props.error(
        name,
        Problem::Invalid {
            rule: rule.into(),
            got,
        },
    )
}

/// `Dimensions`: a map `{"ClusterName": "x"}` or a list of `{Name, Value}`.
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

/// Decodes and checks the alarm properties shared by `Custom::MetricAlarm`.
pub fn decode(props: &mut Props) -> Result<AlarmSpec, PropertyError> {
    let alarm_name = props.required_valid_string(
        "AlarmName",
        "must be 1 to 255 characters without control characters",
        is_alarm_name,
    )?;
    let description = description(props)?;
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
