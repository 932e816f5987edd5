//! One summary for a whole Organization run: compliance per account and Region, findings by
//! check, and the units that could not be audited.

use crate::Report;
use crate::checks::Check;
use crate::suppressions::ExpiredSuppression;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// SNS subjects hold at most 100 characters.
const MAX_SUBJECT: usize = 100;
/// Units listed one by one; an Organization of 100 accounts in 17 Regions has 1,700.
const MAX_LISTED: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnitStatus {
    Audited,
    /// The member role could not be assumed, or the keys could not be listed.
    NotAudited,
    /// Every attempt failed; the unit was dead-lettered.
    Failed,
}

impl UnitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Audited => "audited",
            UnitStatus::NotAudited => "not-audited",
            UnitStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitResult {
    pub account: String,
    pub region: String,
    pub status: UnitStatus,
    pub customer_keys: usize,
    pub compliant_keys: usize,
    /// Findings that stand, by check id.
    pub findings: BTreeMap<String, usize>,
    pub suppressed: usize,
    pub unreadable_keys: usize,
    /// Security Hub findings of keys fixed since the last run, now resolved.
    pub resolved: usize,
    pub error: Option<String>,
}

impl UnitResult {
    pub fn audited(account: &str, region: &str, report: &Report, resolved: usize) -> Self {
        let failing: BTreeSet<&str> = report.findings.iter().map(|f| f.key_id.as_str()).collect();
        UnitResult {
            account: account.to_owned(),
            region: region.to_owned(),
            status: UnitStatus::Audited,
            customer_keys: report.customer_keys,
            compliant_keys: report.customer_keys.saturating_sub(failing.len()),
            findings: report
                .summary
                .iter()
                .filter(|(_, count)| **count > 0)
                .map(|(check, count)| ((*check).to_owned(), *count))
                .collect(),
            suppressed: report.suppressed.len(),
            unreadable_keys: report.errors.len(),
            resolved,
            error: None,
        }
    }

    pub fn not_done(account: &str, region: &str, status: UnitStatus, error: String) -> Self {
        UnitResult {
            account: account.to_owned(),
            region: region.to_owned(),
            status,
            customer_keys: 0,
            compliant_keys: 0,
            findings: BTreeMap::new(),
            suppressed: 0,
            unreadable_keys: 0,
            resolved: 0,
            error: Some(error),
        }
    }

    fn finding_count(&self) -> usize {
        self.findings.values().sum()
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// The run in numbers, as the function returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTotals {
    pub units: usize,
    pub audited: usize,
    pub not_audited: usize,
    pub customer_keys: usize,
    pub compliance_percent: f64,
    pub findings: BTreeMap<&'static str, usize>,
    pub suppressed: usize,
}

pub fn totals(results: &[UnitResult]) -> RunTotals {
    let audited: Vec<&UnitResult> = results
        .iter()
        .filter(|r| r.status == UnitStatus::Audited)
        .collect();
    let keys: usize = audited.iter().map(|r| r.customer_keys).sum();
    let compliant: usize = audited.iter().map(|r| r.compliant_keys).sum();
    RunTotals {
        units: results.len(),
        audited: audited.len(),
        not_audited: results.len() - audited.len(),
        customer_keys: keys,
        compliance_percent: percent(compliant, keys),
        findings: Check::ALL
            .iter()
            .map(|c| {
                let count = audited.iter().filter_map(|r| r.findings.get(c.id())).sum();
                (c.id(), count)
            })
            .collect(),
        suppressed: audited.iter().map(|r| r.suppressed).sum(),
    }
}

pub fn subject(results: &[UnitResult]) -> String {
    let totals = totals(results);
    let findings: usize = totals.findings.values().sum();
    let mut subject = format!(
        "KMS key audit: {findings} findings on {} keys, {}% compliant",
        totals.customer_keys, totals.compliance_percent
    );
    if totals.not_audited > 0 {
        subject.push_str(&format!(", {} not audited", totals.not_audited));
    }
    subject.chars().take(MAX_SUBJECT).collect()
}

pub fn message(run: &str, results: &[UnitResult], expired: &[ExpiredSuppression]) -> String {
    let totals = totals(results);
    let accounts: BTreeSet<&str> = results.iter().map(|r| r.account.as_str()).collect();
    let regions: BTreeSet<&str> = results.iter().map(|r| r.region.as_str()).collect();
    let mut lines = vec![
        format!("stackhand key-auditor, Organization run {run}"),
        format!(
            "{} accounts x {} Regions: {} audited, {} not audited",
            accounts.len(),
            regions.len(),
            totals.audited,
            totals.not_audited
        ),
        format!(
            "Compliant: {}% of {} customer-managed keys; {} findings suppressed",
            totals.compliance_percent, totals.customer_keys, totals.suppressed
        ),
        String::new(),
        "Findings by check:".to_owned(),
    ];
    for check in Check::ALL {
        let count = totals.findings.get(check.id()).copied().unwrap_or(0);
        lines.push(format!(
            "  {:<22} {:>6}  ({:?})",
            check.id(),
            count,
            check.severity()
        ));
    }
    let mut sorted: Vec<&UnitResult> = results.iter().collect();
    sorted.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    let (done, not_done): (Vec<&UnitResult>, Vec<&UnitResult>) = sorted
        .into_iter()
        .partition(|r| r.status == UnitStatus::Audited);
    if !not_done.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Not audited (never counted as compliant): {}",
            not_done.len()
        ));
        listed(&mut lines, &not_done, |r| {
            format!(
                "{} {} [{}]: {}",
                r.account,
                r.region,
                r.status.as_str(),
                r.error.as_deref().unwrap_or("no reason recorded")
            )
        });
    }
    lines.push(String::new());
    lines.push("Compliance by account and Region:".to_owned());
    listed(&mut lines, &done, |r| {
        let mut line = format!(
            "{} {:<14} {:>5}% of {:>5} keys, {:>4} findings",
            r.account,
            r.region,
            percent(r.compliant_keys, r.customer_keys),
            r.customer_keys,
            r.finding_count()
        );
        if r.unreadable_keys > 0 {
            line.push_str(&format!(", {} keys unreadable", r.unreadable_keys));
        }
        if r.resolved > 0 {
            line.push_str(&format!(", {} resolved since the last run", r.resolved));
        }
        line
    });
    if !expired.is_empty() {
        lines.push(String::new());
        lines.push("Expired suppressions, no longer applied:".to_owned());
        for e in expired {
            lines.push(format!("  {} (expired {}): {}", e.id, e.expired, e.reason));
        }
    }
    lines.push(String::new());
    lines.push("Each finding is in the member account's Security Hub.".to_owned());
    lines.join("\n")
}

fn listed<T>(lines: &mut Vec<String>, items: &[T], line: impl Fn(&T) -> String) {
    crate::delivery::listed_at_most(
        lines,
        items,
        MAX_LISTED,
        "in the run ledger and Security Hub",
        line,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audited(
        account: &str,
        region: &str,
        keys: usize,
        compliant: usize,
        findings: &[(&str, usize)],
    ) -> UnitResult {
        UnitResult {
            findings: findings
                .iter()
                .map(|(c, n)| ((*c).to_owned(), *n))
                .collect(),
            customer_keys: keys,
            compliant_keys: compliant,
            ..UnitResult::not_done(account, region, UnitStatus::Audited, String::new())
        }
    }

    #[test]
    fn totals_count_only_audited_units_and_never_call_the_rest_compliant() {
        let results = vec![
            audited(
                "111111111111",
                "eu-west-1",
                10,
                9,
                &[("rotation-disabled", 1)],
            ),
            audited("111111111111", "us-east-1", 10, 10, &[]),
            UnitResult::not_done(
                "222222222222",
                "eu-west-1",
                UnitStatus::NotAudited,
                "AssumeRole: AccessDenied".into(),
            ),
        ];
        let totals = totals(&results);
        assert_eq!(
            (totals.units, totals.audited, totals.not_audited),
            (3, 2, 1)
        );
        assert_eq!(totals.customer_keys, 20);
        assert_eq!(totals.compliance_percent, 95.0);
        assert_eq!(totals.findings["rotation-disabled"], 1);
        assert_eq!(totals.findings.len(), Check::ALL.len());
        assert_eq!(
            subject(&results),
            "KMS key audit: 1 findings on 20 keys, 95% compliant, 1 not audited"
        );
        let text = message("r1", &results, &[]);
        assert!(
            text.contains("2 accounts x 2 Regions: 2 audited, 1 not audited"),
            "{text}"
        );
        assert!(
            text.contains("222222222222 eu-west-1 [not-audited]: AssumeRole: AccessDenied"),
            "{text}"
        );
        assert!(
            text.contains("111111111111 eu-west-1         90% of    10 keys,    1 findings"),
            "{text}"
        );
    }

    #[test]
    fn an_organization_of_1700_units_keeps_the_message_within_sns() {
        let results: Vec<UnitResult> = (0..1700)
            .map(|i| {
                let mut r = audited(
                    &format!("{:012}", i / 17),
                    &format!("eu-west-{}", i % 17),
                    100,
                    90,
                    &[("unused-key", 10)],
                );
                if i % 50 == 0 {
                    r = UnitResult::not_done(
                        &r.account,
                        &r.region,
                        UnitStatus::Failed,
                        "x".repeat(300),
                    );
                }
                r
            })
            .collect();
        let text = message("r", &results, &[]);
        // SNS: 256 KiB a message.
        assert!(text.len() < 256 * 1024, "{}", text.len());
        assert!(text.contains("... and"), "long lists are cut, and say so");
        assert!(subject(&results).len() <= MAX_SUBJECT);
    }
}
