//! Where the report goes besides the return value: CloudWatch metrics for the dashboard, and a
//! readable summary on the report topic.

use crate::Report;
use crate::checks::Check;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use shared::error::describe_aws_error;

/// SNS subjects hold at most 100 characters.
const MAX_SUBJECT: usize = 100;
/// Findings listed one by one in the message; the rest are counted.
const MAX_LISTED: usize = 200;

/// `dimensions` (AccountId and Region in an Organization run) go on every datum.
pub fn metric_data(report: &Report, dimensions: &[Dimension]) -> Vec<MetricDatum> {
    let mut data = vec![
        MetricDatum::builder()
            .metric_name("KeysScanned")
            .set_dimensions(Some(dimensions.to_vec()))
            .value(report.keys_scanned as f64)
            .unit(StandardUnit::Count)
            .build(),
        MetricDatum::builder()
            .metric_name("CompliancePercent")
            .set_dimensions(Some(dimensions.to_vec()))
            .value(report.compliance_percent)
            .unit(StandardUnit::Percent)
            .build(),
        MetricDatum::builder()
            .metric_name("SuppressedFindings")
            .set_dimensions(Some(dimensions.to_vec()))
            .value(report.suppressed.len() as f64)
            .unit(StandardUnit::Count)
            .build(),
    ];
    for check in Check::ALL {
        let count = report.summary.get(check.id()).copied().unwrap_or(0);
        data.push(
            MetricDatum::builder()
                .metric_name("Findings")
                .set_dimensions(Some(dimensions.to_vec()))
                .dimensions(Dimension::builder().name("Check").value(check.id()).build())
                .value(count as f64)
                .unit(StandardUnit::Count)
                .build(),
        );
    }
    data
}

pub async fn put_metrics(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    report: &Report,
    dimensions: &[Dimension],
) -> Result<(), String> {
    cloudwatch
        .put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(metric_data(report, dimensions)))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("PutMetricData to {namespace}: {}", describe_aws_error(&e)))
}

pub fn subject(report: &Report) -> String {
    let subject = format!(
        "KMS key audit: {} findings on {} keys, {}% compliant",
        report.findings.len(),
        report.keys_scanned,
        report.compliance_percent
    );
    subject.chars().take(MAX_SUBJECT).collect()
}

pub fn message(report: &Report) -> String {
    let mut lines = vec![
        "stackhand key-auditor".to_owned(),
        format!(
            "Keys scanned: {} ({} customer-managed, {} AWS-managed)",
            report.keys_scanned, report.customer_keys, report.aws_managed_keys
        ),
        format!(
            "Compliant: {}% of the customer-managed keys",
            report.compliance_percent
        ),
        String::new(),
        "Findings by check:".to_owned(),
    ];
    for check in Check::ALL {
        let count = report.summary.get(check.id()).copied().unwrap_or(0);
        lines.push(format!(
            "  {:<22} {:>5}  ({:?})",
            check.id(),
            count,
            check.severity()
        ));
    }
    if !report.findings.is_empty() {
        lines.push(String::new());
        lines.push("Findings:".to_owned());
        listed(&mut lines, &report.findings, |f| {
            format!(
                "[{:?}] {} {}: {}",
                f.severity,
                f.check.id(),
                f.key_id,
                f.detail
            )
        });
    }
    if !report.suppressed.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Suppressed (accepted, not counted above): {}",
            report.suppressed.len()
        ));
        listed(&mut lines, &report.suppressed, |s| {
            format!(
                "{} {} by {} until {}: {}",
                s.finding.check.id(),
                s.finding.key_id,
                s.suppression,
                s.expires,
                s.reason
            )
        });
    }
    if !report.expired_suppressions.is_empty() {
        lines.push(String::new());
        lines.push("Expired suppressions, no longer applied:".to_owned());
        for e in &report.expired_suppressions {
            lines.push(format!("  {} (expired {}): {}", e.id, e.expired, e.reason));
        }
    }
    if !report.errors.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Keys that could not be read: {}",
            report.errors.len()
        ));
        listed(&mut lines, &report.errors, |e| {
            format!("{}: {}", e.key_id, e.error)
        });
    }
    lines.join("\n")
}

/// One indented line per item, at most [`MAX_LISTED`]; the rest counted.
fn listed<T>(lines: &mut Vec<String>, items: &[T], line: impl Fn(&T) -> String) {
    listed_at_most(lines, items, MAX_LISTED, "in the function's output", line);
}

/// One indented line per item, at most `limit`; the rest counted, and where to find them.
pub fn listed_at_most<T>(
    lines: &mut Vec<String>,
    items: &[T],
    limit: usize,
    rest_in: &str,
    line: impl Fn(&T) -> String,
) {
    lines.extend(items.iter().take(limit).map(|i| format!("  {}", line(i))));
    if items.len() > limit {
        lines.push(format!("  ... and {} more {rest_in}", items.len() - limit));
    }
}

pub async fn publish_summary(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    report: &Report,
) -> Result<(), String> {
    sns.publish()
        .topic_arn(topic)
        .subject(subject(report))
        .message(message(report))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("Publish to {topic}: {}", describe_aws_error(&e)))
}
