//! The notification: a short ASCII subject, a plain-text body a person can act on, and message
//! attributes subscribers filter on and pagers deduplicate with.

use crate::event::{AlarmEvent, MetricEntry, ReasonData};
use serde::Serialize;
use std::fmt::Write;

/// SNS subjects: ASCII, no control characters, at most 100 characters.
pub const MAX_SUBJECT: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    /// The `severity` tag's value; anything else is a warning.
    pub fn from_tag(value: Option<&str>) -> Severity {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("critical") => Severity::Critical,
            Some("info") => Severity::Info,
            _ => Severity::Warning,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What the router knows beyond the event.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub environment: String,
    pub severity: Option<Severity>,
    pub runbook: Option<String>,
    pub remediation: Option<String>,
    /// Set when this notice stands for a flapping stream: the transitions in the window.
    pub flapping: Option<(usize, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub attributes: Vec<(&'static str, String)>,
}

pub fn alarm_arn(event: &AlarmEvent) -> String {
    event
        .resources
        .as_ref()
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| {
            format!(
                "arn:aws:cloudwatch:{}:{}:alarm:{}",
                event.region.as_deref().unwrap_or("unknown-region"),
                event.account.as_deref().unwrap_or("unknown-account"),
                event.detail.alarm_name
            )
        })
}

/// Printable ASCII only, cut to `MAX_SUBJECT` with an ellipsis.
pub fn subject_text(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if ascii.len() <= MAX_SUBJECT {
        ascii
    } else {
        format!("{}...", &ascii[..MAX_SUBJECT - 3])
    }
}

fn encode_path(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn numbers(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| number(*v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_metric(entry: &MetricEntry) -> String {
    if let Some(expression) = &entry.expression {
        let label = entry
            .label
            .as_deref()
            .map(|l| format!(" \"{l}\""))
            .unwrap_or_default();
        return format!("{} = {expression}{label}", entry.id);
    }
    let Some(stat) = &entry.metric_stat else {
        return entry.id.clone();
    };
    let dimensions: Vec<String> = stat
        .metric
        .dimensions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut text = format!(
        "{}: {} {}",
        entry.id,
        stat.metric.namespace.as_deref().unwrap_or("?"),
        stat.metric.name
    );
    if !dimensions.is_empty() {
        let _ = write!(text, " [{}]", dimensions.join(", "));
    }
    let mut how = Vec::new();
    if let Some(s) = &stat.stat {
        how.push(s.clone());
    }
    if let Some(p) = stat.period {
        how.push(format!("{p} s"));
    }
    if !how.is_empty() {
        let _ = write!(text, " ({})", how.join(", "));
    }
    text
}

fn limits(data: &ReasonData) -> Option<String> {
    if let (Some(lower), Some(upper)) = (
        data.recent_lower_thresholds.first(),
        data.recent_upper_thresholds.first(),
    ) {
        return Some(format!(
            "Band (most recent): {} to {}",
            number(*lower),
            number(*upper)
        ));
    }
    data.threshold.map(|t| format!("Threshold: {}", number(t)))
}

fn short_name(arn: &str) -> &str {
    arn.rsplit_once(":alarm:").map_or(arn, |(_, name)| name)
}

/// The alarm in the CloudWatch console; the name is percent-encoded, so `/` and spaces work.
pub fn console_link(event: &AlarmEvent) -> String {
    let region = event.region.as_deref().unwrap_or("unknown-region");
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        encode_path(&event.detail.alarm_name)
    )
}

pub fn compose(event: &AlarmEvent, ctx: &Context) -> Message {
    let detail = &event.detail;
    let state = detail.state.value.as_str();
    let region = event.region.as_deref().unwrap_or("unknown-region");
    let arn = alarm_arn(event);
    let severity = ctx.severity.unwrap_or(Severity::Warning);
    let tag = if ctx.flapping.is_some() {
        "FLAPPING"
    } else {
        state
    };
    let subject = subject_text(&format!(
        "[{tag}] {} ({})",
        detail.alarm_name, ctx.environment
    ));

    let mut body = String::new();
    let _ = writeln!(
        body,
        "{tag}: {} ({}, {region})",
        detail.alarm_name, ctx.environment
    );
    if let Some((transitions, minutes)) = ctx.flapping {
        let _ = writeln!(
            body,
            "The alarm is flapping: {transitions} state changes in the last {minutes} minutes. Further changes in this window are not sent one by one."
        );
    }
    let previous = detail
        .previous_state
        .as_ref()
        .map_or("unknown", |p| p.value.as_str());
    let when = detail
        .state
        .timestamp
        .clone()
        .or_else(|| event.time.map(|t| t.to_rfc3339()));
    let _ = writeln!(
        body,
        "Changed from {previous} to {state}{}",
        when.map(|w| format!(" at {w}")).unwrap_or_default()
    );
    let severity_note = if ctx.severity.is_none() {
        " (the alarm's tags could not be read)"
    } else {
        ""
    };
    let _ = writeln!(body, "Severity: {}{severity_note}", severity.as_str());
    if let Some(reason) = &detail.state.reason {
        let _ = writeln!(body, "\nReason: {reason}");
    }
    let data = detail.state.reason_data();
    if let Some(config) = &detail.configuration {
        if !config.metrics.is_empty() {
            let _ = writeln!(body, "\nMetrics:");
            for entry in &config.metrics {
                let _ = writeln!(body, "  {}", describe_metric(entry));
            }
        }
        if let Some(rule) = &config.alarm_rule {
            let _ = writeln!(body, "\nComposite rule: {rule}");
        }
    }
    if let Some(limits) = limits(&data) {
        let _ = writeln!(body, "{limits}");
    }
    if !data.recent_datapoints.is_empty() {
        let _ = writeln!(
            body,
            "Recent datapoints: {}",
            numbers(&data.recent_datapoints)
        );
    }
    if !data.triggering_alarms.is_empty() {
        let _ = writeln!(body, "Triggering alarms:");
        for child in &data.triggering_alarms {
            let child_state = child.state.as_ref();
            let _ = writeln!(
                body,
                "  {}: {}{}",
                short_name(&child.arn),
                child_state.and_then(|s| s.value.as_deref()).unwrap_or("?"),
                child_state
                    .and_then(|s| s.timestamp.as_deref())
                    .map(|t| format!(" at {t}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(description) = detail
        .configuration
        .as_ref()
        .and_then(|c| c.description.as_deref())
    {
        let _ = writeln!(body, "\nDescription: {description}");
    }
    let _ = writeln!(body);
    if let Some(runbook) = &ctx.runbook {
        let _ = writeln!(body, "Runbook: {runbook}");
    }
    if let Some(remediation) = &ctx.remediation {
        let _ = writeln!(body, "Remediation: {remediation}");
    }
    let _ = writeln!(body, "Console: {}", console_link(event));

    Message {
        subject,
        body,
        attributes: vec![
            ("severity", severity.as_str().to_owned()),
            ("environment", ctx.environment.clone()),
            ("alarm_name", detail.alarm_name.clone()),
            ("state", state.to_owned()),
            ("dedup_key", arn),
        ],
    }
}
