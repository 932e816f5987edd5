//! The shapes a notification takes for what reads it (docs/functions.md, "Destinations"):
//! `text` for e-mail, `chat` for Amazon Q Developer in chat applications (its custom
//! notification schema: Slack, Teams), and `cloudwatch`, the JSON CloudWatch itself publishes to
//! SNS, which PagerDuty's, Jira Service Management's and Opsgenie's CloudWatch integrations parse
//! (and resolve on OK, keyed by the alarm).

use crate::event::AlarmEvent;
use crate::message::{self, Context, Message, Severity};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Chat,
    CloudWatch,
}

impl Format {
    pub const NAMES: [&'static str; 3] = ["text", "chat", "cloudwatch"];

    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "text" => Some(Format::Text),
            "chat" => Some(Format::Chat),
            "cloudwatch" => Some(Format::CloudWatch),
            _ => None,
        }
    }

    /// What is published for `event`: the SNS subject (e-mail only) and message, and the
    /// message attributes subscribers filter on.
    pub fn render(self, event: &AlarmEvent, ctx: &Context) -> Message {
        let text = message::compose(event, ctx);
        match self {
            Format::Text => text,
            Format::Chat => Message {
                body: chat(event, ctx, &text).to_string(),
                ..text
            },
            Format::CloudWatch => Message {
                // CloudWatch's own subject: `ALARM: "name" in US East (N. Virginia)`.
                subject: message::subject_text(&format!(
                    "{}: \"{}\" in {}",
                    event.detail.state.value,
                    event.detail.alarm_name,
                    region_name(event.region.as_deref().unwrap_or("unknown-region"))
                )),
                body: cloudwatch(event, ctx).to_string(),
                ..text
            },
        }
    }
}

fn state_mark(state: &str) -> &'static str {
    match state {
        "ALARM" => ":red_circle:",
        "OK" => ":large_green_circle:",
        _ => ":white_circle:",
    }
}

/// The custom notification: `version` 1.0, `source` custom, the text body as the description,
/// what to do as `nextSteps`, and the alarm's ARN as `threadId`, so that an alarm and its
/// recovery land in one thread.
pub fn chat(event: &AlarmEvent, ctx: &Context, text: &Message) -> Value {
    let detail = &event.detail;
    let state = detail.state.value.as_str();
    let arn = message::alarm_arn(event);
    let severity = Severity::or_critical(ctx.severity);
    let mut next_steps = Vec::new();
    if let Some(runbook) = &ctx.runbook {
        next_steps.push(format!("Follow the runbook: {runbook}"));
    }
    if let Some(remediation) = &ctx.remediation {
        next_steps.push(format!("Remediation: {remediation}"));
    }
    if let Some(group) = &ctx.log_group {
        next_steps.push(format!(
            "Search the logs of {group}: {}",
            message::logs_insights_link(event, group)
        ));
    }
    next_steps.push(format!("Open the alarm: {}", message::console_link(event)));
    // The body's first line is the title's; the rest is the description.
    let description = text
        .body
        .split_once('\n')
        .map_or(text.body.as_str(), |(_, rest)| rest)
        .trim()
        .to_owned();
    let mut notification = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": format!("{} {}", state_mark(state), text.subject),
            "description": description,
            "nextSteps": next_steps,
            "keywords": [ctx.environment, severity.as_str(), state, event.region.as_deref().unwrap_or("unknown-region")],
        },
        "metadata": {
            "threadId": arn,
            "summary": text.subject,
            "eventType": format!("stackhand-alarm-{}", state.to_ascii_lowercase().replace('_', "-")),
            "relatedResources": [arn],
            "additionalContext": {
                "alarmName": detail.alarm_name,
                "environment": ctx.environment,
                "severity": severity.as_str(),
                "account": event.account.as_deref().unwrap_or_default(),
            },
        },
    });
    if let Some(id) = &event.id {
        notification["id"] = json!(id);
    }
    notification
}

/// The long Region name CloudWatch writes in its notifications.
fn region_name(code: &str) -> &str {
    match code {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "ca-central-1" => "Canada (Central)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-west-3" => "EU (Paris)",
        "eu-central-1" => "EU (Frankfurt)",
        "eu-north-1" => "EU (Stockholm)",
        "eu-south-1" => "EU (Milan)",
        "ap-south-1" => "Asia Pacific (Mumbai)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        "ap-northeast-2" => "Asia Pacific (Seoul)",
        "ap-northeast-3" => "Asia Pacific (Osaka)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "sa-east-1" => "South America (Sao Paulo)",
        other => other,
    }
}

/// The alarm notification as CloudWatch publishes it to SNS. The EventBridge event does not
/// carry the alarm's actions, comparison operator or evaluation periods: those are empty or
/// null, as CloudWatch leaves fields it has no value for. `Trigger` holds the metric (or, for
/// metric math and anomaly bands, `Metrics`), the statistic, period and threshold the event has.
/// What to do goes in one extra key, `Stackhand`: the integrations match on CloudWatch's own keys
/// and show the rest of the JSON as the incident's details.
pub fn cloudwatch(event: &AlarmEvent, ctx: &Context) -> Value {
    let detail = &event.detail;
    let data = detail.state.reason_data();
    let config = detail.configuration.clone().unwrap_or_default();
    let region = event.region.as_deref().unwrap_or("unknown-region");
    let description = config
        .description
        .as_deref()
        .map(|d| shared::alarm_tags::split_severity(d).0);
    let mut notification = json!({
        "AlarmName": detail.alarm_name,
        "AlarmDescription": description,
        "AWSAccountId": event.account,
        "AlarmConfigurationUpdatedTimestamp": Value::Null,
        "NewStateValue": detail.state.value,
        "NewStateReason": detail.state.reason.clone().unwrap_or_default(),
        "StateChangeTime": detail.state.timestamp,
        "Region": region_name(region),
        "AlarmArn": message::alarm_arn(event),
        "OldStateValue": detail.previous_state.as_ref().map(|p| p.value.clone()),
        "OKActions": [],
        "AlarmActions": [],
        "InsufficientDataActions": [],
        "Stackhand": what_to_do(event, ctx, &data.recent_datapoints),
    });
    if let Some(rule) = &config.alarm_rule {
        notification["AlarmRule"] = json!(rule);
        notification["TriggeringChildren"] = json!(
            data.triggering_alarms
                .iter()
                .map(|c| json!({"Arn": c.arn, "State": {
                    "Value": c.state.as_ref().and_then(|s| s.value.clone()),
                    "Timestamp": c.state.as_ref().and_then(|s| s.timestamp.clone())}}))
                .collect::<Vec<_>>()
        );
        return notification;
    }
    let single = match config.metrics.as_slice() {
        [only] if only.expression.is_none() => only.metric_stat.as_ref(),
        _ => None,
    };
    let trigger = match single {
        Some(stat) => json!({
            "MetricName": stat.metric.name,
            "Namespace": stat.metric.namespace,
            "StatisticType": "Statistic",
            "Statistic": stat.stat.as_deref().or(data.statistic.as_deref()).map(str::to_ascii_uppercase),
            "Unit": stat.unit,
            "Dimensions": stat.metric.dimensions.iter()
                .map(|(name, value)| json!({"value": value, "name": name}))
                .collect::<Vec<_>>(),
            "Period": stat.period.or(data.period),
            "EvaluationPeriods": Value::Null,
            "ComparisonOperator": Value::Null,
            "Threshold": data.threshold,
            "TreatMissingData": "",
            "EvaluateLowSampleCountPercentile": "",
        }),
        None => json!({
            "Metrics": config.metrics.iter().map(|m| {
                let mut entry = json!({"Id": m.id, "ReturnData": m.return_data.unwrap_or(false)});
                if let Some(expression) = &m.expression {
                    entry["Expression"] = json!(expression);
                    entry["Label"] = json!(m.label);
                }
                if let Some(stat) = &m.metric_stat {
                    entry["MetricStat"] = json!({
                        "Metric": {"Namespace": stat.metric.namespace, "MetricName": stat.metric.name,
                            "Dimensions": stat.metric.dimensions.iter()
                                .map(|(name, value)| json!({"value": value, "name": name}))
                                .collect::<Vec<_>>()},
                        "Period": stat.period, "Stat": stat.stat, "Unit": stat.unit});
                }
                entry
            }).collect::<Vec<_>>(),
            "Period": data.period,
            "EvaluationPeriods": Value::Null,
            "ComparisonOperator": Value::Null,
            "Threshold": data.threshold,
            "TreatMissingData": "",
            "EvaluateLowSampleCountPercentile": "",
        }),
    };
    notification["Trigger"] = trigger;
    notification
}

/// The `Stackhand` key of the `cloudwatch` format: where and how bad, and the links to act on.
fn what_to_do(event: &AlarmEvent, ctx: &Context, recent_datapoints: &[f64]) -> Value {
    let mut context = json!({
        "Environment": ctx.environment,
        "Severity": Severity::or_critical(ctx.severity).as_str(),
        "AccountId": event.account,
        "Region": event.region,
        "Console": message::console_link(event),
        "RecentDatapoints": recent_datapoints,
    });
    let optional = [
        ("Runbook", ctx.runbook.clone()),
        ("Remediation", ctx.remediation.clone()),
        ("LogGroup", ctx.log_group.clone()),
        (
            "LogsInsights",
            ctx.log_group
                .as_deref()
                .map(|group| message::logs_insights_link(event, group)),
        ),
        ("Deployment", ctx.deploying.clone()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            context[key] = json!(value);
        }
    }
    context
}

#[cfg(test)]
#[path = "formats_tests.rs"]
mod tests;
