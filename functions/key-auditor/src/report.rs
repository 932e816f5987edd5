//! The audit's result: every key judged, counted and split into findings that stand, findings
//! the suppression list muted, and keys that could not be read.

use crate::checks::{Check, Finding};
use crate::suppressions::{ExpiredSuppression, SuppressedFinding};
use serde::Serialize;
use std::collections::BTreeMap;

/// A key the audit could not read; it is not counted as compliant or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyError {
    pub key_id: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub keys_scanned: usize,
    pub customer_keys: usize,
    pub aws_managed_keys: usize,
    /// Customer-managed keys without findings, of those audited.
    pub compliance_percent: f64,
    pub findings: Vec<Finding>,
    /// Every check, with its count (zero included); suppressed findings are not counted here.
    pub summary: BTreeMap<&'static str, usize>,
    pub errors: Vec<KeyError>,
    /// Findings the suppression list muted, each with the entry, its reason and expiry.
    pub suppressed: Vec<SuppressedFinding>,
    /// Every check, with its count of suppressed findings.
    pub suppressed_summary: BTreeMap<&'static str, usize>,
    /// Entries past their date, no longer applied.
    pub expired_suppressions: Vec<ExpiredSuppression>,
}

impl Report {
    /// A key whose findings are all suppressed counts as compliant.
    pub fn new(
        scanned: usize,
        outcomes: Vec<KeyOutcome>,
        expired_suppressions: Vec<ExpiredSuppression>,
    ) -> Self {
        let mut findings = Vec::new();
        let mut suppressed = Vec::new();
        let mut errors = Vec::new();
        let (mut customer, mut managed, mut clean) = (0, 0, 0);
        for outcome in outcomes {
            match outcome {
                KeyOutcome::AwsManaged => managed += 1,
                KeyOutcome::Judged { standing, muted } => {
                    customer += 1;
                    if standing.is_empty() {
                        clean += 1;
                    }
                    findings.extend(standing);
                    suppressed.extend(muted);
                }
                KeyOutcome::Unreadable(err) => errors.push(err),
            }
        }
        let summary = Check::ALL
            .iter()
            .map(|c| (c.id(), findings.iter().filter(|f| f.check == *c).count()))
            .collect();
        let suppressed_summary = Check::ALL
            .iter()
            .map(|c| {
                let count = suppressed.iter().filter(|s| s.finding.check == *c).count();
                (c.id(), count)
            })
            .collect();
        let compliance_percent = if customer == 0 {
            100.0
        } else {
            (clean as f64 * 1000.0 / customer as f64).round() / 10.0
        };
        Report {
            keys_scanned: scanned,
            customer_keys: customer,
            aws_managed_keys: managed,
            compliance_percent,
            findings,
            summary,
            errors,
            suppressed,
            suppressed_summary,
            expired_suppressions,
        }
    }
}

pub enum KeyOutcome {
    AwsManaged,
    Judged {
        standing: Vec<Finding>,
        muted: Vec<SuppressedFinding>,
    },
    Unreadable(KeyError),
}
