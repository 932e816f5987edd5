//! A unit's findings into the member account's Security Hub, under the member role: this run's
//! findings imported (created or updated), and the earlier ones whose key now passes resolved.

use crate::Report;
use crate::asff::{self, Target};
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, StringFilter, StringFilterComparison,
};
use shared::error::describe_aws_error;
use std::collections::HashSet;

/// BatchImportFindings takes at most 100 findings a call.
const IMPORT_BATCH: usize = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub imported: usize,
    pub resolved: usize,
}

fn filter(value: &str, comparison: StringFilterComparison) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(comparison)
        .build()
}

/// This product's findings that are still open: ACTIVE and FAILED.
async fn open_findings(hub: &Client, target: &Target) -> Result<Vec<AwsSecurityFinding>, String> {
    let filters = AwsSecurityFindingFilters::builder()
        .product_arn(filter(
            &target.product_arn(),
            StringFilterComparison::Equals,
        ))
        .generator_id(filter(
            asff::GENERATOR_PREFIX,
            StringFilterComparison::Prefix,
        ))
        .aws_account_id(filter(&target.account, StringFilterComparison::Equals))
        .record_state(filter("ACTIVE", StringFilterComparison::Equals))
        .compliance_status(filter("FAILED", StringFilterComparison::Equals))
        .build();
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = hub
            .get_findings()
            .filters(filters.clone())
            .max_results(100)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "GetFindings in {} {}: {}",
                    target.account,
                    target.region,
                    describe_aws_error(&e)
                )
            })?;
        found.extend(page.findings.unwrap_or_default());
        match page.next_token {
            Some(token) if !token.is_empty() => next = Some(token),
            _ => return Ok(found),
        }
    }
}

async fn import(
    hub: &Client,
    target: &Target,
    findings: Vec<AwsSecurityFinding>,
) -> Result<(), String> {
    for batch in findings.chunks(IMPORT_BATCH) {
        let answer = hub
            .batch_import_findings()
            .set_findings(Some(batch.to_vec()))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "BatchImportFindings in {} {}: {}",
                    target.account,
                    target.region,
                    describe_aws_error(&e)
                )
            })?;
        if let Some(refused) = answer.failed_findings().first() {
            return Err(format!(
                "BatchImportFindings in {} {} refused {} of {} findings, first {}: {} {}",
                target.account,
                target.region,
                answer.failed_count().unwrap_or(1),
                batch.len(),
                refused.id().unwrap_or("?"),
                refused.error_code().unwrap_or(""),
                refused.error_message().unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// Imports the report's findings (suppressed ones marked so) and resolves the open findings of
/// keys judged this run that no longer fail the check. A key that could not be read keeps its
/// findings open: it was not judged.
pub async fn publish(
    hub: &Client,
    target: &Target,
    report: &Report,
    now: &str,
) -> Result<Imported, String> {
    let mut findings: Vec<AwsSecurityFinding> = report
        .findings
        .iter()
        .map(|f| asff::failed(target, f, None, now))
        .collect();
    findings.extend(
        report
            .suppressed
            .iter()
            .map(|s| asff::failed(target, &s.finding, Some(s), now)),
    );
    let current: HashSet<String> = findings
        .iter()
        .filter_map(|f| f.id().map(str::to_owned))
        .collect();
    let unread: HashSet<&str> = report.errors.iter().map(|e| e.key_id.as_str()).collect();
    let fixed: Vec<AwsSecurityFinding> = open_findings(hub, target)
        .await?
        .iter()
        .filter(|f| f.id().is_some_and(|id| !current.contains(id)))
        .filter(|f| {
            let key_id = asff::key_arn(f)
                .and_then(|arn| arn.rsplit('/').next())
                .unwrap_or_default();
            !unread.contains(key_id)
        })
        .map(|f| asff::resolved(f, now))
        .collect();
    let counts = Imported {
        imported: findings.len(),
        resolved: fixed.len(),
    };
    import(hub, target, findings).await?;
    import(hub, target, fixed).await?;
    Ok(counts)
}
