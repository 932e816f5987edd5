//! The Organization run on Lambda: the scheduled invocation fans the units out on the audit
//! queue; the same function, fed by the queue, audits each unit in its member account under the
//! member role, imports the findings into that account's Security Hub and counts the unit in
//! the run ledger; the unit that completes the run sends the one summary. Units that fail every
//! attempt reach the dead-letter queue, whose records the function counts as failed.

use crate::asff::Target;
use crate::fleet::{self, Accounts, FleetSettings, Unit};
use crate::run_summary::{self, UnitResult, UnitStatus};
use crate::runs::{Counted, Runs};
use crate::suppressions::Suppressions;
use crate::{AuditError, KeyAuditor, delivery, jsonl, security_hub};
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::Dimension;
use aws_sdk_kms::config::{Credentials, Region, SharedCredentialsProvider};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::error::describe_aws_error;

#[derive(Clone)]
pub struct Fleet {
    pub settings: std::sync::Arc<FleetSettings>,
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    sqs: aws_sdk_sqs::Client,
    organizations: aws_sdk_organizations::Client,
    s3: aws_sdk_s3::Client,
    runs: Runs,
}

/// An SQS event record, as far as the worker reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueRecord {
    message_id: String,
    body: String,
    #[serde(rename = "eventSourceARN", default)]
    event_source_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueEvent {
    records: Vec<QueueRecord>,
}

/// Whether an SQS event: the worker's input.
pub fn is_queue_event(event: &Value) -> bool {
    event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        == Some("aws:sqs")
}

fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// The partition of a Region (the member role's ARN and the product ARN need it).
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What a unit that cannot be audited looks like, as opposed to one that failed for a moment.
fn is_denied(detail: &str) -> bool {
    detail.starts_with("AccessDenied") || detail.contains("not authorized")
}

impl Fleet {
    pub fn new(config: &SdkConfig, settings: FleetSettings) -> Self {
        Fleet {
            runs: Runs::new(
                aws_sdk_dynamodb::Client::new(config),
                settings.runs_table.clone(),
            ),
            settings: std::sync::Arc::new(settings),
            base: config.clone(),
            sts: aws_sdk_sts::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            organizations: aws_sdk_organizations::Client::new(config),
            s3: aws_sdk_s3::Client::new(config),
        }
    }

    /// The scheduled run: one unit per account and Region on the queue. A unit that cannot be
    /// queued is counted at once as failed, so the run still ends with its summary.
    pub async fn fan_out(
        &self,
        auditor: &KeyAuditor,
        suppressions: &Suppressions,
    ) -> Result<Value, AuditError> {
        let failed = |e: String| AuditError::FanOut(e);
        let accounts = match &self.settings.accounts {
            Accounts::Listed(listed) => listed.clone(),
            Accounts::Organization => fleet::organization_accounts(&self.organizations)
                .await
                .map_err(failed)?,
        };
        let started = now();
        let run = fleet::run_id(&started);
        let units = fleet::units(&run, &accounts, &self.settings.regions);
        self.runs
            .start(&run, &started, units.len())
            .await
            .map_err(failed)?;
        let unsent = fleet::send(&self.sqs, &self.settings.queue_url, &units).await;
        for (unit, why) in &unsent {
            tracing::error!(run, unit = unit.key(), error = why, "unit not queued");
            let result = UnitResult::not_done(
                &unit.account,
                &unit.region,
                UnitStatus::Failed,
                format!("never queued: {why}"),
            );
            self.count(auditor, unit, &result, suppressions)
                .await
                .map_err(failed)?;
        }
        tracing::info!(
            run,
            units = units.len(),
            not_queued = unsent.len(),
            "organization run fanned out"
        );
        Ok(json!({
            "run": run,
            "units": units.len(),
            "notQueued": unsent.len(),
            "accounts": units.iter().map(|u| u.account.as_str()).collect::<std::collections::BTreeSet<_>>().len(),
            "regions": self.settings.regions,
        }))
    }

    /// A batch from the audit queue or its dead-letter queue. Answers the records to retry
    /// (`batchItemFailures`), so one failed unit does not repeat the others.
    pub async fn work(
        &self,
        auditor: &KeyAuditor,
        event: Value,
        suppressions: &Suppressions,
    ) -> Result<Value, AuditError> {
        let event: QueueEvent = serde_json::from_value(event).map_err(|e| {
            AuditError::FanOut(format!("not an SQS event the worker can read: {e}"))
        })?;
        let mut retry = Vec::new();
        for record in event.records {
            let unit: Unit = match serde_json::from_str(&record.body) {
                Ok(unit) => unit,
                Err(err) => {
                    // Never valid, however often retried: logged, and the message dropped.
                    tracing::error!(message_id = record.message_id, error = %err, "not a unit of an audit run");
                    continue;
                }
            };
            let dead = self.settings.dead_letter_queue_arn.as_deref()
                == Some(record.event_source_arn.as_str());
            let done = match dead {
                true => self.dead_lettered(auditor, &unit, suppressions).await,
                false => self.unit(auditor, &unit, suppressions).await,
            };
            if let Err(err) = done {
                tracing::warn!(run = unit.run, account = unit.account, region = unit.region, error = %err, "unit to be retried");
                if let Err(note) = self.runs.note_failure(&unit, &err).await {
                    tracing::warn!(error = %note, "failure not noted");
                }
                retry.push(json!({"itemIdentifier": record.message_id}));
            }
        }
        Ok(json!({"batchItemFailures": retry}))
    }

    async fn dead_lettered(
        &self,
        auditor: &KeyAuditor,
        unit: &Unit,
        suppressions: &Suppressions,
    ) -> Result<(), String> {
        let last = self.runs.last_error(unit).await?;
        let error = format!(
            "every attempt failed; the last: {}",
            last.as_deref()
                .unwrap_or("not recorded (see the function's log)")
        );
        let result = UnitResult::not_done(&unit.account, &unit.region, UnitStatus::Failed, error);
        self.count(auditor, unit, &result, suppressions).await
    }

    async fn unit(
        &self,
        auditor: &KeyAuditor,
        unit: &Unit,
        suppressions: &Suppressions,
    ) -> Result<(), String> {
        // Boxed: an audit's future is large, and a batch holds several.
        let result = Box::pin(self.audit(auditor, unit, suppressions)).await?;
        tracing::info!(
            run = unit.run,
            account = unit.account,
            region = unit.region,
            status = result.status.as_str(),
            "unit done"
        );
        self.count(auditor, unit, &result, suppressions).await
    }

    /// Counts the unit; if it completes the run, sends the run's summary.
    async fn count(
        &self,
        auditor: &KeyAuditor,
        unit: &Unit,
        result: &UnitResult,
        suppressions: &Suppressions,
    ) -> Result<(), String> {
        if self.runs.finish(unit, result).await? == Counted::Before {
            tracing::info!(run = unit.run, unit = unit.key(), "already counted");
        }
        if !self.runs.claim_summary(&unit.run).await? {
            return Ok(());
        }
        let sent = self.summarize(auditor, &unit.run, suppressions).await;
        if sent.is_err() {
            self.runs.release_summary(&unit.run).await?;
        }
        sent
    }

    async fn summarize(
        &self,
        auditor: &KeyAuditor,
        run: &str,
        suppressions: &Suppressions,
    ) -> Result<(), String> {
        let state = self.runs.state(run).await?;
        let totals = run_summary::totals(&state.results);
        tracing::info!(
            run,
            units = totals.units,
            not_audited = totals.not_audited,
            compliance_percent = totals.compliance_percent,
            "organization run done"
        );
        let Some(topic) = auditor.report_topic() else {
            return Ok(());
        };
        auditor
            .sns()
            .publish()
            .topic_arn(topic)
            .subject(run_summary::subject(&state.results))
            .message(run_summary::message(
                run,
                &state.results,
                &suppressions.expired,
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("Publish to {topic}: {}", describe_aws_error(&e)))
    }

    /// The unit's result; `Err` for a failure worth retrying.
    async fn audit(
        &self,
        auditor: &KeyAuditor,
        unit: &Unit,
        suppressions: &Suppressions,
    ) -> Result<UnitResult, String> {
        let not_audited = |why: String| {
            Ok(UnitResult::not_done(
                &unit.account,
                &unit.region,
                UnitStatus::NotAudited,
                why,
            ))
        };
        let partition = partition(&unit.region);
        let role = format!(
            "arn:{partition}:iam::{}:role/{}",
            unit.account, self.settings.member_role_name
        );
        let assumed = self
            .sts
            .assume_role()
            .role_arn(&role)
            .external_id(&self.settings.external_id)
            .role_session_name("stackhand-key-audit")
            .duration_seconds(900)
            .send()
            .await;
        let credentials = match assumed {
            Ok(answer) => match answer.credentials {
                Some(c) => Credentials::new(
                    c.access_key_id,
                    c.secret_access_key,
                    Some(c.session_token),
                    None,
                    "member-role",
                ),
                None => return Err(format!("AssumeRole {role} answered no credentials")),
            },
            Err(err) => {
                let detail = describe_aws_error(&err);
                return match is_denied(&detail) {
                    true => not_audited(format!("AssumeRole {role}: {detail}")),
                    false => Err(format!("AssumeRole {role}: {detail}")),
                };
            }
        };
        let member = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .region(Region::new(unit.region.clone()))
            .build();
        let report = match Box::pin(auditor.in_member(&member).audit(None, suppressions)).await {
            Ok(report) => report,
            Err(AuditError::Listing(err)) if is_denied(&err.detail) => {
                return not_audited(err.to_string());
            }
            Err(err) => return Err(err.to_string()),
        };
        let mut resolved = 0;
        if self.settings.security_hub {
            let target = Target {
                partition: partition.to_owned(),
                account: unit.account.clone(),
                region: unit.region.clone(),
            };
            let hub = aws_sdk_securityhub::Client::new(&member);
            resolved = Box::pin(security_hub::publish(&hub, &target, &report, &now()))
                .await?
                .resolved;
        }
        if let Some(bucket) = &self.settings.findings_bucket {
            jsonl::write(&self.s3, bucket, unit, &report).await?;
        }
        let dimensions = [
            Dimension::builder()
                .name("AccountId")
                .value(&unit.account)
                .build(),
            Dimension::builder()
                .name("Region")
                .value(&unit.region)
                .build(),
        ];
        delivery::put_metrics(
            auditor.cloudwatch(),
            auditor.namespace(),
            &report,
            &dimensions,
        )
        .await?;
        Ok(UnitResult::audited(
            &unit.account,
            &unit.region,
            &report,
            resolved,
        ))
    }
}
