//! What a metric alarm watches, decoded: one metric with its dimensions and period, or a
//! metric-math list; and the evaluation window CloudWatch allows for them.

use crate::alarm_decode::invalid;
use crate::alarm_spec::*;
use serde_json::Value;
use shared::props::show;
use shared::{Problem, PropertyError, Props};
use std::collections::BTreeMap;

pub(crate) fn check_evaluation_window(
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

pub(crate) fn period(props: &mut Props, name: &'static str) -> Result<Option<i32>, PropertyError> {
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

pub(crate) fn decode_queries(props: &mut Props) -> Result<Option<Vec<Query>>, PropertyError> {
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
