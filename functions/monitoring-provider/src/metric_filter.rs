//! `Custom::MetricFilter`: a log metric filter; physical id `<LogGroupName>|<FilterName>`.
//! Filters take no tags, so who made one is kept in the owner ledger ([`crate::owners`]). The
//! properties and the Update plan here; the Logs calls in `metric_filters.rs`.

pub use crate::metric_filters::MetricFilters;
use shared::plan::Plan;
use shared::props::{LOG_GROUP_NAME_RULE, is_log_group_name};
use shared::{Environment, Problem, PropertyError, Props};

pub const TYPE: &str = "Custom::MetricFilter";
pub const ATTRIBUTES: [&str; 2] = ["FilterName", "LogGroupName"];
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

#[derive(Debug, Clone, PartialEq)]
pub struct FilterProps {
    pub environment: Environment,
    pub log_group_name: String,
    pub filter_name: String,
    pub pattern: String,
    pub namespace: String,
    pub metric_name: String,
    pub metric_value: String,
    pub default_value: Option<f64>,
    pub unit: Option<String>,
    /// `<LogGroupName>|<FilterName>`.
    pub physical_id: String,
}

fn is_filter_name(name: &str) -> bool {
    (1..=512).contains(&name.len()) && !name.contains(':') && !name.contains('*')
}

fn is_metric_value(value: &str) -> bool {
    value.parse::<f64>().is_ok() || (value.starts_with('$') && value.len() > 1)
}

pub fn decode(props: &mut Props) -> Result<FilterProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let log_group_name =
        props.required_valid_string("LogGroupName", LOG_GROUP_NAME_RULE, is_log_group_name)?;
    let filter_name = props.required_valid_string(
        "FilterName",
        "must be 1 to 512 characters without ':' or '*'",
        is_filter_name,
    )?;
    // An empty pattern matches every event; CloudFormation gives it as "".
    let pattern = props.optional_string("FilterPattern")?.unwrap_or_default();
    if pattern.len() > 1024 {
        return Err(props.error(
            "FilterPattern",
            Problem::Invalid {
                rule: "must be at most 1024 characters".to_owned(),
                got: format!("{} characters", pattern.len()),
            },
        ));
    }
    let namespace = props.required_string("MetricNamespace")?;
    let metric_name = props.required_string("MetricName")?;
    let metric_value = props
        .optional_valid_string(
            "MetricValue",
            "must be a number or a field such as $.latency",
            is_metric_value,
        )?
        .unwrap_or_else(|| "1".to_owned());
    let default_value = crate::alarm_spec::optional_number(props, "DefaultValue")?;
    let unit = props.optional_choice("Unit", &UNITS)?.map(str::to_owned);
    let physical_id = format!("{log_group_name}|{filter_name}");
    Ok(FilterProps {
        environment,
        log_group_name,
        filter_name,
        pattern,
        namespace,
        metric_name,
        metric_value,
        default_value,
        unit,
        physical_id,
    })
}

/// What DescribeMetricFilters says, in the properties' terms.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFilter {
    /// `<LogGroupName>|<FilterName>`: the ledger's identity.
    pub physical_id: String,
    pub pattern: String,
    pub namespace: String,
    pub metric_name: String,
    pub metric_value: String,
    pub default_value: Option<f64>,
}

/// The call that brings a live filter in step: PutMetricFilter replaces it whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    PutMetricFilter,
}

/// What an Update would change. The log group and filter name are the physical id.
pub fn plan(live: &LiveFilter, desired: &FilterProps) -> Plan<Step> {
    let number = |v: Option<f64>| v.map_or_else(|| "(none)".to_owned(), |v| v.to_string());
    let mut plan = Plan::new();
    let step = || Step::PutMetricFilter;
    plan.compare(
        "FilterPattern",
        live.pattern.as_str(),
        desired.pattern.as_str(),
        step(),
    );
    plan.compare(
        "MetricNamespace",
        live.namespace.as_str(),
        desired.namespace.as_str(),
        step(),
    );
    plan.compare(
        "MetricName",
        live.metric_name.as_str(),
        desired.metric_name.as_str(),
        step(),
    );
    plan.compare(
        "MetricValue",
        live.metric_value.as_str(),
        desired.metric_value.as_str(),
        step(),
    );
    plan.compare(
        "DefaultValue",
        number(live.default_value),
        number(desired.default_value),
        step(),
    );
    plan
}

#[cfg(test)]
#[path = "metric_filter_tests.rs"]
mod tests;
