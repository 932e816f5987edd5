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
    /// A severity as written, in the description's severity line or the `severity` tag. An
    /// unknown word is critical: a typo must not quiet a page.
    pub fn from_word(value: &str) -> Severity {
        match value.trim().to_ascii_lowercase().as_str() {
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => Severity::Critical,
        }
    }

    /// The alarm's severity: the line stackhand ends its alarms' descriptions with (carried by the
    /// event, so no read can fail), else the `severity` tag, else warning for an alarm without
    /// one. `None` when only the tags could tell and they could not be read: treated as critical.
    pub fn of_alarm(
        description: Option<&str>,
        tags: Option<&std::collections::HashMap<String, String>>,
    ) -> Option<Severity> {
        let described = description.and_then(|d| shared::alarm_tags::split_severity(d).1);
        match (described, tags) {
            (Some(word), _) => Some(Severity::from_word(word)),
            (None, Some(tags)) => Some(
                tags.get(shared::alarm_tags::TAG_SEVERITY)
                    .map_or(Severity::Warning, |word| Severity::from_word(word)),
            ),
            (None, None) => None,
        }
    }

    /// What an unknown severity is routed as: loud, so a throttled read never downgrades a page.
    pub fn or_critical(severity: Option<Severity>) -> Severity {
        severity.unwrap_or(Severity::Critical)
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
    /// Set when this is the state the alarm settled in after flapping or a deployment: its
    /// final word on the incident.
    pub settled: Option<crate::settle::Cause>,
    /// The deployment running while a critical alarm changed (critical ones are not held).
    pub deploying: Option<String>,
    /// The log group a metric filter feeds the alarm's metric from, for a Logs Insights link.
    pub log_group: Option<String>,
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
    escape(text, b"-_.~", "%", true)
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

/// The console's own escaping inside its `#logsV2:` fragment: percent-encoding with `*` for `%`,
/// everything but letters, digits, `-`, `_` and `.` escaped (the fragment's syntax uses `~`,
/// `'`, `(` and `)`).
fn console_fragment_text(text: &str) -> String {
    escape(text, b"-_.", "*", false)
}

/// `text` with every byte but ASCII letters, digits and `keep` written as `marker` and two hex
/// digits; one string, no allocation per byte (the router renders several links per event).
fn escape(text: &str, keep: &[u8], marker: &str, upper: bool) -> String {
    let mut escaped = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            escaped.push(b as char);
        } else if upper {
            let _ = write!(escaped, "{marker}{b:02X}");
        } else {
            let _ = write!(escaped, "{marker}{b:02x}");
        }
    }
    escaped
}

/// CloudWatch Logs Insights on `log_group`, the latest entries of the hour before the change.
pub fn logs_insights_link(event: &AlarmEvent, log_group: &str) -> String {
    let region = event.region.as_deref().unwrap_or("unknown-region");
    let query = "fields @timestamp, @message, @logStream\n| sort @timestamp desc\n| limit 100";
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:logs-insights$3FqueryDetail$3D~(end~0~start~-3600~timeType~'RELATIVE~unit~'seconds~editorString~'{}~source~(~'{}))",
        console_fragment_text(query),
        console_fragment_text(log_group)
    )
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
    let severity = Severity::or_critical(ctx.severity);
    // `[ALARM] name`, `[FLAPPING] name`, `[SETTLED] OK name`.
    let (tag, heading) = if ctx.flapping.is_some() {
        ("[FLAPPING]".to_owned(), "FLAPPING".to_owned())
    } else if ctx.settled.is_some() {
        (format!("[SETTLED] {state}"), format!("SETTLED in {state}"))
    } else {
        (format!("[{state}]"), state.to_owned())
    };
    let subject = subject_text(&format!(
        "{tag} {} ({})",
        detail.alarm_name, ctx.environment
    ));

    let mut body = String::new();
    let _ = writeln!(
        body,
        "{heading}: {} ({}, {region})",
        detail.alarm_name, ctx.environment
    );
    if let Some(cause) = ctx.settled {
        let _ = writeln!(
            body,
            "After {}, the alarm has held {state}: this is its final state for the incident.",
            cause.phrase()
        );
    }
    if let Some(deployment) = &ctx.deploying {
        let _ = writeln!(
            body,
            "A deployment is running: {deployment}. Critical alarms are sent even so."
        );
    }
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
        " (unknown: the alarm's tags could not be read, so it is treated as critical)"
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
        .map(|d| shared::alarm_tags::split_severity(d).0)
        .filter(|d| !d.is_empty())
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
    if let Some(group) = &ctx.log_group {
        let _ = writeln!(
            body,
            "Logs Insights ({group}): {}",
            logs_insights_link(event, group)
        );
    }
    let _ = writeln!(body, "Console: {}", console_link(event));
    if let Some(account) = &event.account {
        let _ = writeln!(body, "Account: {account}, Region: {region}");
    }

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
