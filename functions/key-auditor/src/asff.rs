//! Findings in the AWS Security Finding Format, as a custom integration imports them: from the
//! finding's own account, into that account's default product
//! (https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format.html).

use crate::checks::{Check, Finding, Severity};
use crate::suppressions::SuppressedFinding;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, Recommendation, RecordState, Remediation, Resource,
    SeverityLabel, Workflow, WorkflowStatus,
};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// Every finding's GeneratorId starts so; the next run finds its own findings by it.
pub const GENERATOR_PREFIX: &str = "stackhand/key-auditor/";
/// ASFF limits (AwsSecurityFinding in the Security Hub API reference).
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_ID: usize = 512;
pub const MAX_RECOMMENDATION: usize = 512;

/// Where the findings go: the audited account and Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub partition: String,
    pub account: String,
    pub region: String,
}

impl Target {
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

/// Stable per check and key, so the next run updates the same finding.
pub fn finding_id(check: Check, key_arn: &str) -> String {
    format!("{GENERATOR_PREFIX}{}/{key_arn}", check.id())
}

fn label(severity: Severity) -> SeverityLabel {
    match severity {
        Severity::Critical => SeverityLabel::Critical,
        Severity::High => SeverityLabel::High,
        Severity::Medium => SeverityLabel::Medium,
        Severity::Low => SeverityLabel::Low,
    }
}

/// `namespace/category/classifier`, in the Software and Configuration Checks namespace.
pub fn finding_type(check: Check) -> String {
    format!(
        "Software and Configuration Checks/AWS Security Best Practices/KMS {}",
        check.id()
    )
}

fn clip(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(limit - 1).collect();
    clipped.push('…');
    clipped
}

fn partition(name: &str) -> Partition {
    Partition::from(name)
}

/// A finding that stands (`FAILED`, `ACTIVE`); a suppressed one is imported too, with
/// `Workflow: SUPPRESSED` (which Security Hub takes only when it creates the finding: after that
/// the workflow is the security team's).
pub fn failed(
    target: &Target,
    finding: &Finding,
    suppressed_by: Option<&SuppressedFinding>,
    now: &str,
) -> AwsSecurityFinding {
    let check = finding.check;
    let types = vec![finding_type(check)];
    let mut built = AwsSecurityFinding::builder()
        .schema_version(SCHEMA_VERSION)
        .id(finding_id(check, &finding.arn))
        .product_arn(target.product_arn())
        .generator_id(format!("{GENERATOR_PREFIX}{}", check.id()))
        .aws_account_id(&target.account)
        .region(&target.region)
        .set_types(Some(types.clone()))
        .created_at(now)
        .updated_at(now)
        .last_observed_at(now)
        .severity(
            aws_sdk_securityhub::types::Severity::builder()
                .label(label(finding.severity))
                .build(),
        )
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(label(finding.severity))
                        .build(),
                )
                .set_types(Some(types))
                .build(),
        )
        .title(clip(
            &format!("KMS key {}: {}", finding.key_id, check.id()),
            MAX_TITLE,
        ))
        .description(clip(&finding.detail, MAX_DESCRIPTION))
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(clip(check.remedy(), MAX_RECOMMENDATION))
                        .build(),
                )
                .build(),
        )
        .resources(
            Resource::builder()
                .r#type("AwsKmsKey")
                .id(&finding.arn)
                .partition(partition(&target.partition))
                .region(&target.region)
                .build(),
        )
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::Failed)
                .build(),
        )
        .record_state(RecordState::Active)
        .product_fields("stackhand/check", check.id());
    if let Some(muted) = suppressed_by {
        built = built
            .workflow(
                Workflow::builder()
                    .status(WorkflowStatus::Suppressed)
                    .build(),
            )
            .product_fields("stackhand/suppression", &muted.suppression)
            .product_fields("stackhand/suppression-expires", &muted.expires);
    }
    built.build()
}

/// An earlier finding whose key now passes the check: the same finding, `PASSED` and `ARCHIVED`.
/// Security Hub sets its workflow to `RESOLVED` itself.
pub fn resolved(previous: &AwsSecurityFinding, now: &str) -> AwsSecurityFinding {
    AwsSecurityFinding::builder()
        .schema_version(previous.schema_version().unwrap_or(SCHEMA_VERSION))
        .set_id(previous.id().map(str::to_owned))
        .set_product_arn(previous.product_arn().map(str::to_owned))
        .set_generator_id(previous.generator_id().map(str::to_owned))
        .set_aws_account_id(previous.aws_account_id().map(str::to_owned))
        .set_region(previous.region().map(str::to_owned))
        .set_types(previous.types.clone())
        .set_created_at(previous.created_at().map(str::to_owned))
        .updated_at(now)
        .set_severity(previous.severity().cloned())
        .set_finding_provider_fields(previous.finding_provider_fields().cloned())
        .set_title(previous.title().map(str::to_owned))
        .set_description(previous.description().map(str::to_owned))
        .set_resources(previous.resources.clone())
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::Passed)
                .build(),
        )
        .record_state(RecordState::Archived)
        .set_product_fields(previous.product_fields.clone())
        .build()
}

/// The key ARN a finding of ours is about.
pub fn key_arn(finding: &AwsSecurityFinding) -> Option<&str> {
    finding.resources().first().and_then(|r| r.id())
}

#[cfg(test)]
#[path = "asff_tests.rs"]
mod tests;
