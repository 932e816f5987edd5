//! The Organization run (docs/functions.md, "Auditing an Organization"): its settings, its units
//! of work (one account in one Region), and the fan-out that puts them on the audit queue.

use serde::{Deserialize, Serialize};
use shared::error::describe_aws_error;
use shared::settings::{SettingError, Settings};

/// Role name rules: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
const ROLE_NAME_CHARS: &str = "+=,.@_-";
/// SendMessageBatch takes at most 10 entries.
const SEND_BATCH: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// The active accounts of the Organization, by `organizations:ListAccounts`.
    Organization,
    Listed(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSettings {
    pub accounts: Accounts,
    pub regions: Vec<String>,
    pub queue_url: String,
    /// Records from this queue are units that failed every attempt.
    pub dead_letter_queue_arn: Option<String>,
    pub runs_table: String,
    pub member_role_name: String,
    pub external_id: String,
    /// Findings into each member's Security Hub.
    pub security_hub: bool,
    /// Where each unit's findings are written as JSON Lines, if anywhere.
    pub findings_bucket: Option<String>,
}

fn problem(name: &'static str, problem: String) -> SettingError {
    SettingError { name, problem }
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-7`: letters and dashes, a digit last.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

impl FleetSettings {
    /// `None` when `AUDIT_ACCOUNTS` is unset: the single-account audit.
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &Settings<F>,
        own_region: Option<String>,
    ) -> Result<Option<Self>, SettingError> {
        let Some(accounts) = env.text("AUDIT_ACCOUNTS") else {
            return Ok(None);
        };
        let accounts = if accounts.trim().eq_ignore_ascii_case("ORGANIZATION") {
            Accounts::Organization
        } else {
            let listed = env.list("AUDIT_ACCOUNTS");
            if let Some(bad) = listed.iter().find(|a| !is_account(a)) {
                return Err(problem(
                    "AUDIT_ACCOUNTS",
                    format!(
                        "must be ORGANIZATION or 12-digit account ids, comma-separated; got \"{bad}\""
                    ),
                ));
            }
            Accounts::Listed(listed)
        };
        let mut regions = env.list("AUDIT_REGIONS");
        if regions.is_empty() {
            regions.extend(own_region);
        }
        if let Some(bad) = regions.iter().find(|r| !is_region(r)) {
            return Err(problem(
                "AUDIT_REGIONS",
                format!("must be Region codes such as eu-west-1, comma-separated; got \"{bad}\""),
            ));
        }
        if regions.is_empty() {
            return Err(problem(
                "AUDIT_REGIONS",
                "must name at least one Region (the function's own is not known)".to_owned(),
            ));
        }
        let member_role_name = env
            .text("AUDIT_MEMBER_ROLE_NAME")
            .unwrap_or_else(|| "stackhand-key-audit".to_owned());
        let role_name_ok = (1..=64).contains(&member_role_name.len())
            && member_role_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ROLE_NAME_CHARS.contains(c));
        if !role_name_ok {
            return Err(problem(
                "AUDIT_MEMBER_ROLE_NAME",
                format!(
                    "must be 1-64 letters, digits or {ROLE_NAME_CHARS}; got \"{member_role_name}\""
                ),
            ));
        }
        let external_id = env.required_text("AUDIT_EXTERNAL_ID")?;
        if !(16..=1224).contains(&external_id.len()) {
            return Err(problem(
                "AUDIT_EXTERNAL_ID",
                format!(
                    "must be 16 to 1224 characters; it has {}",
                    external_id.len()
                ),
            ));
        }
        Ok(Some(FleetSettings {
            accounts,
            regions,
            queue_url: env.required_text("AUDIT_QUEUE_URL")?,
            dead_letter_queue_arn: env.text("AUDIT_DEAD_LETTER_QUEUE_ARN"),
            runs_table: env.required_text("AUDIT_RUNS_TABLE")?,
            member_role_name,
            external_id,
            security_hub: env.bool("SECURITY_HUB_IMPORT", true)?,
            findings_bucket: env.text("AUDIT_FINDINGS_BUCKET"),
        }))
    }
}

/// One account in one Region of one run: the body of a queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Unit {
    pub run: String,
    pub account: String,
    pub region: String,
}

impl Unit {
    /// The sort key of its result in the run ledger.
    pub fn key(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// Every account in every Region, accounts sorted.
pub fn units(run: &str, accounts: &[String], regions: &[String]) -> Vec<Unit> {
    let mut sorted = accounts.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .iter()
        .flat_map(|account| {
            regions.iter().map(move |region| Unit {
                run: run.to_owned(),
                account: account.clone(),
                region: region.clone(),
            })
        })
        .collect()
}

/// `2026-12-01T06:00:00Z-1a2b3c4d`: sortable by time, unique across concurrent runs.
pub fn run_id(now_rfc3339: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(now_rfc3339.as_bytes());
    format!("{now_rfc3339}-{:08x}", hasher.finish() as u32)
}

/// The active accounts of the Organization, paged.
pub async fn organization_accounts(
    organizations: &aws_sdk_organizations::Client,
) -> Result<Vec<String>, String> {
    let mut pages = organizations.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAccounts: {}", describe_aws_error(&e)))?;
        accounts.extend(
            page.accounts()
                .iter()
                .filter(|a| a.state() == Some(&aws_sdk_organizations::types::AccountState::Active))
                .filter_map(|a| a.id().map(str::to_owned)),
        );
    }
    Ok(accounts)
}

/// Puts every unit on the queue, ten a call. Answers the units that could not be queued, each
/// with why: one batch refused does not keep the others off the queue.
pub async fn send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    units: &[Unit],
) -> Vec<(Unit, String)> {
    let mut unsent = Vec::new();
    for batch in units.chunks(SEND_BATCH) {
        let entries: Result<Vec<_>, String> = batch
            .iter()
            .enumerate()
            .map(|(i, unit)| {
                let body = serde_json::to_string(unit).map_err(|e| e.to_string())?;
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("u{i}"))
                    .message_body(body)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect();
        let answer = match entries {
            Ok(entries) => sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "SendMessageBatch to {queue_url}: {}",
                        describe_aws_error(&e)
                    )
                }),
            Err(err) => Err(err),
        };
        match answer {
            Ok(answer) => unsent.extend(answer.failed().iter().filter_map(|failed| {
                let index: usize = failed.id().trim_start_matches('u').parse().ok()?;
                let why = failed.message().unwrap_or(failed.code());
                Some((
                    batch.get(index)?.clone(),
                    format!("SendMessageBatch to {queue_url}: {why}"),
                ))
            })),
            Err(err) => unsent.extend(batch.iter().map(|u| (u.clone(), err.clone()))),
        }
    }
    unsent
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<FleetSettings>, SettingError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FleetSettings::read(
            &Settings::new(move |name| map.get(name).cloned()),
            Some("eu-west-1".to_owned()),
        )
    }

    const BASE: &[(&str, &str)] = &[
        (
            "AUDIT_QUEUE_URL",
            "https://sqs.eu-west-1.amazonaws.com/111111111111/q",
        ),
        ("AUDIT_RUNS_TABLE", "runs"),
        ("AUDIT_EXTERNAL_ID", "0123456789abcdef"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().chain(extra).copied().collect()
    }

    #[test]
    fn unset_accounts_is_the_single_account_audit() {
        assert_eq!(read(BASE).expect("present"), None);
    }

    #[test]
    fn organization_or_listed_accounts_and_the_own_region_by_default() {
        let org = read(&with(&[("AUDIT_ACCOUNTS", "organization")]))
            .expect("present")
            .expect("present");
        assert_eq!(org.accounts, Accounts::Organization);
        assert_eq!(org.regions, vec!["eu-west-1"]);
        assert_eq!(org.member_role_name, "stackhand-key-audit");
        assert!(org.security_hub);
        let listed = read(&with(&[
            ("AUDIT_ACCOUNTS", "111111111111, 222222222222"),
            ("AUDIT_REGIONS", "us-east-1,us-gov-west-1"),
        ]))
        .expect("present")
        .expect("present");
        assert_eq!(
            listed.accounts,
            Accounts::Listed(vec!["111111111111".into(), "222222222222".into()])
        );
        assert_eq!(listed.regions, vec!["us-east-1", "us-gov-west-1"]);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                &[("AUDIT_ACCOUNTS", "11111111111")],
                "AUDIT_ACCOUNTS",
                "11111111111",
            ),
            (
                &[
                    ("AUDIT_ACCOUNTS", "ORGANIZATION"),
                    ("AUDIT_REGIONS", "eu-west"),
                ],
                "AUDIT_REGIONS",
                "eu-west",
            ),
            (
                &[
                    ("AUDIT_ACCOUNTS", "ORGANIZATION"),
                    ("AUDIT_MEMBER_ROLE_NAME", "a/b"),
                ],
                "AUDIT_MEMBER_ROLE_NAME",
                "a/b",
            ),
        ];
        for (extra, name, value) in cases {
            let err = read(&with(extra)).expect_err("refused");
            assert_eq!(err.name, *name);
            assert!(err.to_string().contains(value), "{err}");
        }
        let short = read(&[
            ("AUDIT_ACCOUNTS", "ORGANIZATION"),
            ("AUDIT_QUEUE_URL", "q"),
            ("AUDIT_RUNS_TABLE", "t"),
            ("AUDIT_EXTERNAL_ID", "short"),
        ])
        .expect_err("refused");
        assert_eq!(short.name, "AUDIT_EXTERNAL_ID");
        let no_queue = read(&[
            ("AUDIT_ACCOUNTS", "ORGANIZATION"),
            ("AUDIT_EXTERNAL_ID", "0123456789abcdef"),
        ])
        .expect_err("refused");
        assert_eq!(no_queue.name, "AUDIT_QUEUE_URL");
    }

    #[test]
    fn every_account_in_every_region_once() {
        let units = units(
            "r",
            &[
                "222222222222".into(),
                "111111111111".into(),
                "111111111111".into(),
            ],
            &["eu-west-1".into(), "us-east-1".into()],
        );
        let keys: Vec<String> = units.iter().map(Unit::key).collect();
        assert_eq!(
            keys,
            vec![
                "111111111111/eu-west-1",
                "111111111111/us-east-1",
                "222222222222/eu-west-1",
                "222222222222/us-east-1"
            ]
        );
    }

    #[test]
    fn run_ids_start_with_the_time_and_differ() {
        let a = run_id("2026-12-01T06:00:00Z");
        let b = run_id("2026-12-01T06:00:00Z");
        assert!(a.starts_with("2026-12-01T06:00:00Z-"));
        assert_ne!(a, b);
    }
}
