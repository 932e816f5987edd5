//! key-rotator: on a schedule (or a manual run), turns on automatic rotation for every
//! customer key KMS can rotate, corrects rotation periods, and rotates on demand the keys tagged
//! `stackhand:rotate-every-days` when they are due. A dry run changes nothing.

pub mod plan;

use aws_config::SdkConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::types::RotationType;
use lambda_runtime::Diagnostic;
use plan::{Action, ActionKind, Limits, RotationHistory};
use serde::Serialize;
use serde_json::Value;
use shared::kms_scan::{self, KmsCallError, rotation_eligibility};
use shared::settings::{SettingError, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotatorSettings {
    pub dry_run: bool,
    pub limits: Limits,
    pub concurrency: usize,
}

impl RotatorSettings {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Settings<F>) -> Result<Self, SettingError> {
        Ok(RotatorSettings {
            dry_run: env.bool("DRY_RUN", false)?,
            limits: Limits {
                // Both ranges fit their types.
                default_period_days: env.int(
                    "DEFAULT_ROTATION_PERIOD_DAYS",
                    365,
                    plan::ROTATION_PERIOD_DAYS,
                )? as i32,
                max_on_demand_rotations: env.int(
                    "MAX_ON_DEMAND_ROTATIONS",
                    plan::KMS_ON_DEMAND_QUOTA as i64,
                    0..=plan::KMS_ON_DEMAND_QUOTA as i64,
                )? as usize,
            },
            concurrency: env.int("CONCURRENCY", 8, 1..=64)? as usize,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotatorError {
    #[error(transparent)]
    Input(#[from] shared::schedule::NotASchedule),
    #[error("could not list the account's keys: {0}")]
    Listing(KmsCallError),
}

impl From<RotatorError> for Diagnostic {
    fn from(err: RotatorError) -> Diagnostic {
        let error_type = match err {
            RotatorError::Input(_) => "Stackhand.NotAScheduledEvent",
            RotatorError::Listing(_) => "Stackhand.KmsListingFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    pub scanned: usize,
    pub actions: Vec<Action>,
}

#[derive(Clone)]
pub struct KeyRotator {
    kms: Client,
    settings: RotatorSettings,
}

fn seconds(date: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    date.map(aws_smithy_types::DateTime::secs)
}

impl KeyRotator {
    pub fn new(kms: Client, settings: RotatorSettings) -> Self {
        KeyRotator { kms, settings }
    }

    /// Reads the settings from the environment and builds the client once.
    pub fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let settings = RotatorSettings::read(&Settings::from_env()).map_err(|e| e.to_string())?;
        Ok(KeyRotator::new(Client::new(config), settings))
    }

    pub async fn handle(&self, event: Value) -> Result<Value, RotatorError> {
        let run = shared::schedule::parse(&event)?;
        let dry_run = run.dry_run.unwrap_or(self.settings.dry_run);
        let ids = match run.key_ids {
            Some(ids) => ids,
            None => kms_scan::key_ids(&self.kms)
                .await
                .map_err(RotatorError::Listing)?,
        };
        tracing::info!(
            source = run.source,
            dry_run,
            keys = ids.len(),
            "rotation run"
        );
        let scanned = ids.len();
        let per_key = kms_scan::bounded(ids, self.settings.concurrency, |id| {
            let rotator = self.clone();
            async move { rotator.key(&id, dry_run).await }
        })
        .await;
        let actions: Vec<Action> = per_key.into_iter().flatten().collect();
        for action in &actions {
            tracing::info!(key_id = action.key_id, action = ?action.action, reason = action.reason, dry_run, "key");
        }
        let report = Report {
            dry_run,
            scanned,
            actions,
        };
        Ok(serde_json::to_value(report).unwrap_or_default())
    }

    /// Everything done (or, dry, that would be done) to one key; a failed call ends that key
    /// only, with a `failed` line.
    async fn key(&self, key_id: &str, dry_run: bool) -> Vec<Action> {
        match self.decide_and_act(key_id, dry_run).await {
            Ok(actions) => actions,
            Err(err) => vec![Action::new(key_id, ActionKind::Failed, err.to_string())],
        }
    }

    async fn decide_and_act(
        &self,
        key_id: &str,
        dry_run: bool,
    ) -> Result<Vec<Action>, KmsCallError> {
        let key = kms_scan::describe(&self.kms, key_id).await?;
        if let Err(why) = rotation_eligibility(&key) {
            return Ok(vec![Action::new(
                key_id,
                ActionKind::Skipped,
                why.to_string(),
            )]);
        }
        let tags = kms_scan::tags(&self.kms, key_id).await?;
        let status = kms_scan::rotation_status(&self.kms, key_id).await?;
        let mut actions = Vec::new();
        if let Some(action) = plan::automatic(
            key_id,
            &tags,
            status.key_rotation_enabled(),
            status.rotation_period_in_days(),
            self.settings.limits,
        ) {
            if let (false, Some(days)) = (dry_run, action.rotation_period_days) {
                self.kms
                    .enable_key_rotation()
                    .key_id(key_id)
                    .rotation_period_in_days(days)
                    .send()
                    .await
                    .map_err(|e| KmsCallError::new("EnableKeyRotation", key_id, &e))?;
            }
            actions.push(action);
        }
        match plan::on_demand_interval(&tags) {
            None => {}
            Some(Err(problem)) => actions.push(Action::new(key_id, ActionKind::Skipped, problem)),
            Some(Ok(every_days)) => {
                let history = RotationHistory {
                    in_progress: status.on_demand_rotation_start_date().is_some(),
                    created: seconds(key.creation_date()),
                    ..self.history(key_id).await?
                };
                let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs();
                if let Some(action) =
                    plan::on_demand(key_id, every_days, history, now, self.settings.limits)
                {
                    if !dry_run && action.action == ActionKind::RotatedOnDemand {
                        let rotated = self.kms.rotate_key_on_demand().key_id(key_id).send().await;
                        match rotated {
                            Ok(_) => actions.push(action),
                            // The quota KMS keeps per key, whatever ListKeyRotations showed.
                            Err(err)
                                if err
                                    .as_service_error()
                                    .is_some_and(|e| e.is_limit_exceeded_exception()) =>
                            {
                                actions.push(Action::new(
                                    key_id,
                                    ActionKind::Skipped,
                                    format!(
                                        "due, but KMS refuses more on-demand rotations of this key (its quota per key is used up: {})",
                                        shared::error::describe_aws_error(&err)
                                    ),
                                ));
                            }
                            Err(err) => {
                                return Err(KmsCallError::new("RotateKeyOnDemand", key_id, &err));
                            }
                        }
                    } else {
                        actions.push(action);
                    }
                }
            }
        }
        Ok(actions)
    }

    async fn history(&self, key_id: &str) -> Result<RotationHistory, KmsCallError> {
        let rotations = shared::kms_items!(
            self.kms.list_key_rotations().key_id(key_id),
            "ListKeyRotations",
            key_id
        )?;
        Ok(RotationHistory {
            on_demand_count: rotations
                .iter()
                .filter(|r| r.rotation_type() == Some(&RotationType::OnDemand))
                .count(),
            newest: rotations
                .iter()
                .filter_map(|r| seconds(r.rotation_date()))
                .max(),
            created: None,
            in_progress: false,
        })
    }
}
