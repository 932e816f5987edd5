//! key-auditor: on a schedule, judges every KMS key in the account against the checks of
//! docs/functions.md, returns the report, publishes a summary to REPORT_TOPIC_ARN and puts the
//! audit metrics. At most 5 KMS calls per key (6 with REQUIRED_TAGS or a suppression by tags),
//! four of them side by side; bounded concurrency. Findings the suppression list mutes are reported apart.

pub mod asff;
pub mod checks;
pub mod delivery;
pub mod fleet;
pub mod jsonl;
pub mod organization;
pub mod report;
pub mod run_summary;
pub mod runs;
pub mod security_hub;
pub mod suppressions;

pub use report::{KeyError, KeyOutcome, Report};

use aws_config::SdkConfig;
use aws_sdk_kms::Client;
use checks::{GrantFacts, KeyFacts, LastUsage, Rules};
use fleet::FleetSettings;
use lambda_runtime::Diagnostic;

use serde_json::Value;
use shared::kms_scan::{self, KmsCallError, is_aws_managed};
use shared::settings::{SettingError, Settings};
use std::collections::HashMap;
use std::sync::Arc;
use suppressions::{KeyIdentity, Suppressions};

pub const DEFAULT_NAMESPACE: &str = "Stackhand/KeyAudit";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub report_topic_arn: Option<String>,
    pub namespace: String,
    pub required_tags: Vec<String>,
    pub concurrency: usize,
    /// The SSM parameter holding the suppression list, if any.
    pub suppressions_parameter: Option<String>,
    /// Accounts besides each key's own that may hold access (cross-account-access, external-grant).
    pub trusted_accounts: Vec<String>,
    /// Days without a cryptographic use that make a key unused.
    pub unused_key_days: i64,
}

impl AuditSettings {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Settings<F>) -> Result<Self, SettingError> {
        Ok(AuditSettings {
            report_topic_arn: env.text("REPORT_TOPIC_ARN"),
            namespace: env
                .text("METRIC_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            required_tags: env.list("REQUIRED_TAGS"),
            // The range fits a usize.
            concurrency: env.int("CONCURRENCY", 16, 1..=64)? as usize,
            suppressions_parameter: env.text("SUPPRESSIONS_PARAMETER"),
            trusted_accounts: env.list("TRUSTED_ACCOUNTS"),
            unused_key_days: env.int("UNUSED_KEY_DAYS", 90, 1..=3650)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Input(#[from] shared::schedule::NotASchedule),
    #[error("could not list the account's keys: {0}")]
    Listing(KmsCallError),
    #[error("the audit ran ({0}), but its results were not delivered: {1}")]
    Delivery(String, String),
    /// Unreadable or malformed: no key is audited.
    #[error("no audit: {0}")]
    Suppressions(String),
    /// The Organization run could not be fanned out, or a queue event not read.
    #[error("organization run: {0}")]
    FanOut(String),
}

impl From<AuditError> for Diagnostic {
    fn from(err: AuditError) -> Diagnostic {
        let error_type = match err {
            AuditError::Input(_) => "Stackhand.NotAScheduledEvent",
            AuditError::Listing(_) => "Stackhand.KmsListingFailed",
            AuditError::Delivery(..) => "Stackhand.ReportNotDelivered",
            AuditError::Suppressions(_) => "Stackhand.BadSuppressionList",
            AuditError::FanOut(_) => "Stackhand.OrganizationRunFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[derive(Clone)]
pub struct KeyAuditor {
    kms: Client,
    sns: aws_sdk_sns::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    ssm: aws_sdk_ssm::Client,
    settings: Arc<AuditSettings>,
    /// Set (by `AUDIT_ACCOUNTS`) for an Organization run.
    fleet: Option<organization::Fleet>,
}

impl KeyAuditor {
    pub fn new(config: &SdkConfig, kms: Client, settings: AuditSettings) -> Self {
        KeyAuditor {
            kms,
            sns: aws_sdk_sns::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            settings: Arc::new(settings),
            fleet: None,
        }
    }

    /// The Organization run's settings: units fanned out on a queue, audited in member accounts.
    pub fn with_fleet(mut self, config: &SdkConfig, fleet: FleetSettings) -> Self {
        self.fleet = Some(organization::Fleet::new(config, fleet));
        self
    }

    /// The same auditor reading the keys of a member account (its own clients deliver).
    pub fn in_member(&self, member: &SdkConfig) -> Self {
        KeyAuditor {
            kms: Client::new(member),
            ..self.clone()
        }
    }

    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        &self.cloudwatch
    }

    pub fn sns(&self) -> &aws_sdk_sns::Client {
        &self.sns
    }

    pub fn namespace(&self) -> &str {
        &self.settings.namespace
    }

    pub fn report_topic(&self) -> Option<&str> {
        self.settings.report_topic_arn.as_deref()
    }

    /// Reads the settings from the environment and builds the clients once.
    pub fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let env = Settings::from_env();
        let settings = AuditSettings::read(&env).map_err(|e| e.to_string())?;
        let own_region = config.region().map(|r| r.to_string());
        let fleet = FleetSettings::read(&env, own_region).map_err(|e| e.to_string())?;
        let auditor = KeyAuditor::new(config, Client::new(config), settings);
        Ok(match fleet {
            Some(fleet) => auditor.with_fleet(config, fleet),
            None => auditor,
        })
    }

    pub async fn handle(&self, event: Value) -> Result<Value, AuditError> {
        if organization::is_queue_event(&event) {
            let Some(fleet) = &self.fleet else {
                return Err(AuditError::FanOut(
                    "an SQS event, but AUDIT_ACCOUNTS is not set: this function runs no Organization audit".to_owned(),
                ));
            };
            // Malformed, it fails the batch: no unit is audited under a list that cannot be read.
            let suppressions = self.suppressions().await?;
            return Box::pin(fleet.work(self, event, &suppressions)).await;
        }
        let run = shared::schedule::parse(&event)?;
        // Read first: a malformed list fails the run before any audit starts.
        let suppressions = self.suppressions().await?;
        if let (Some(fleet), None) = (&self.fleet, &run.key_ids) {
            return Box::pin(fleet.fan_out(self, &suppressions)).await;
        }
        let report = self.audit(run.key_ids, &suppressions).await?;
        tracing::info!(
            keys = report.keys_scanned,
            findings = report.findings.len(),
            suppressed = report.suppressed.len(),
            expired_suppressions = report.expired_suppressions.len(),
            compliance_percent = report.compliance_percent,
            unreadable = report.errors.len(),
            "audit done"
        );
        let summary = format!(
            "{} findings on {} keys",
            report.findings.len(),
            report.keys_scanned
        );
        // The two channels are independent: metrics failing must not keep the summary from
        // the security team, nor the other way round.
        let metrics =
            delivery::put_metrics(&self.cloudwatch, &self.settings.namespace, &report, &[]);
        let summary_sent = async {
            match &self.settings.report_topic_arn {
                Some(topic) => delivery::publish_summary(&self.sns, topic, &report).await,
                None => Ok(()),
            }
        };
        let (metrics, summary_sent) = tokio::join!(metrics, summary_sent);
        let undelivered: Vec<String> = [metrics, summary_sent]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if !undelivered.is_empty() {
            return Err(AuditError::Delivery(summary, undelivered.join("; ")));
        }
        Ok(serde_json::to_value(&report).unwrap_or_default())
    }

    /// The suppression list as it applies today; none without `SUPPRESSIONS_PARAMETER`.
    pub async fn suppressions(&self) -> Result<Suppressions, AuditError> {
        let Some(name) = &self.settings.suppressions_parameter else {
            return Ok(Suppressions::default());
        };
        let answer = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                AuditError::Suppressions(format!(
                    "reading the suppression list {name}: {}",
                    shared::error::describe_aws_error(&e)
                ))
            })?;
        let text = answer.parameter.and_then(|p| p.value).unwrap_or_default();
        suppressions::parse(&text, &today()).map_err(|e| {
            AuditError::Suppressions(format!("{name}: {e} (docs/functions.md, \"Suppressions\")"))
        })
    }

    /// Audits `key_ids`, or every key in the account, muting what `suppressions` name.
    pub async fn audit(
        &self,
        key_ids: Option<Vec<String>>,
        suppressions: &Suppressions,
    ) -> Result<Report, AuditError> {
        let ids = match key_ids {
            Some(ids) => ids,
            None => kms_scan::key_ids(&self.kms)
                .await
                .map_err(AuditError::Listing)?,
        };
        let aliases = Arc::new(
            kms_scan::aliases_by_key(&self.kms)
                .await
                .map_err(AuditError::Listing)?,
        );
        let scanned = ids.len();
        let read_tags = !self.settings.required_tags.is_empty() || suppressions.use_tags();
        let rules = Arc::new(Rules {
            required_tags: self.settings.required_tags.clone(),
            trusted_accounts: self.settings.trusted_accounts.clone(),
            unused_days: self.settings.unused_key_days,
            now: aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs(),
        });
        let muting = Arc::new(suppressions.clone());
        let outcomes = kms_scan::bounded(ids, self.settings.concurrency, |id| {
            let auditor = self.clone();
            let aliases = aliases.clone();
            let suppressions = muting.clone();
            let rules = rules.clone();
            async move {
                match auditor.facts(&id, &aliases, read_tags).await {
                    Ok(None) => KeyOutcome::AwsManaged,
                    Ok(Some(facts)) => {
                        let found = checks::judge(&facts, &rules);
                        let identity = KeyIdentity {
                            arn: facts.key.arn().unwrap_or_default(),
                            key_id: facts.key.key_id(),
                            aliases: &facts.aliases,
                            tags: facts.tags.as_ref(),
                        };
                        let (standing, muted) = suppressions.apply(found, &identity);
                        KeyOutcome::Judged { standing, muted }
                    }
                    Err(err) => {
                        tracing::warn!(key_id = id, error = %err, "key not audited");
                        KeyOutcome::Unreadable(KeyError {
                            key_id: id,
                            error: err.to_string(),
                        })
                    }
                }
            }
        })
        .await;
        Ok(Report::new(scanned, outcomes, suppressions.expired.clone()))
    }

    /// DescribeKey, then GetKeyRotationStatus (keys KMS can rotate) and GetKeyPolicy side by
    /// side; tags only when some are required. `None` for AWS-managed keys, which are counted,
    /// not judged.
    async fn facts(
        &self,
        key_id: &str,
        aliases: &HashMap<String, Vec<String>>,
        read_tags: bool,
    ) -> Result<Option<KeyFacts>, KmsCallError> {
        let key = kms_scan::describe(&self.kms, key_id).await?;
        if is_aws_managed(&key) {
            return Ok(None);
        }
        let rotation = async {
            if !checks::rotation_applies(&key) {
                return Ok(None);
            }
            let status = kms_scan::rotation_status(&self.kms, key_id).await?;
            Ok::<_, KmsCallError>(Some(status.key_rotation_enabled()))
        };
        let policy = async {
            let answer = self
                .kms
                .get_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .send()
                .await
                .map_err(|e| KmsCallError::new("GetKeyPolicy", key_id, &e))?;
            Ok::<_, KmsCallError>(
                answer
                    .policy
                    .and_then(|text| serde_json::from_str(&text).ok()),
            )
        };
        // Only an Enabled key can be used; a disabled one has its own finding.
        let last_usage = async {
            if key.key_state() != Some(&aws_sdk_kms::types::KeyState::Enabled) {
                return Ok(None);
            }
            let answer = self
                .kms
                .get_key_last_usage()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| KmsCallError::new("GetKeyLastUsage", key_id, &e))?;
            let secs = |d: Option<&aws_smithy_types::DateTime>| d.map_or(0, |d| d.secs());
            Ok::<_, KmsCallError>(Some(LastUsage {
                used: answer.key_last_usage().and_then(|u| {
                    let operation = u.operation().map_or("an operation", |o| o.as_str());
                    u.timestamp().map(|t| (t.secs(), operation.to_owned()))
                }),
                tracking_start: secs(answer.tracking_start_date()),
                created: secs(answer.key_creation_date()),
            }))
        };
        let grants = async {
            let listed =
                shared::kms_items!(self.kms.list_grants().key_id(key_id), "ListGrants", key_id)?;
            Ok::<_, KmsCallError>(
                listed
                    .into_iter()
                    .map(|g| GrantFacts {
                        name: g.name.or(g.grant_id).unwrap_or_default(),
                        grantee: g.grantee_principal.unwrap_or_default(),
                        retiring: g.retiring_principal,
                    })
                    .collect::<Vec<_>>(),
            )
        };
        // One round trip of four calls per key: the latency bound of a large audit.
        let (rotation_enabled, policy, last_usage, grants) =
            tokio::try_join!(rotation, policy, last_usage, grants)?;
        let tags = match read_tags {
            true => Some(kms_scan::tags(&self.kms, key_id).await?),
            false => None,
        };
        Ok(Some(KeyFacts {
            aliases: aliases.get(key.key_id()).cloned().unwrap_or_default(),
            key,
            rotation_enabled,
            policy,
            tags,
            last_usage,
            grants,
        }))
    }
}

/// `YYYY-MM-DD` in UTC: the day suppression expiry dates are judged against.
fn today() -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    now.get(..10).unwrap_or_default().to_owned()
}

#[cfg(test)]
#[path = "throttling_tests.rs"]
mod throttling_tests;
