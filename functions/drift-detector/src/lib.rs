//! drift-detector: on a schedule, reads every drift record in the account and Region (what each
//! provider last applied, `shared::records`), asks the resource's own type for the dry run of an
//! Update to those properties, and reports each difference: stack, logical id, type, property,
//! desired and live value. It returns the report, publishes a summary to REPORT_TOPIC_ARN when
//! something drifted, and puts `DriftedResources` by type. It changes nothing itself; with
//! `REPAIR=true` it asks the provider functions to put back what the rules allow (`repair.rs`).

pub mod repair;
pub mod report;

use aws_config::SdkConfig;
use ecs_provider::EcsProvider;
use kms_provider::KmsProvider;
use lambda_runtime::Diagnostic;
use monitoring_provider::MonitoringProvider;
pub use report::Report;
use serde_json::Value;
use shared::cfn::{Drift, Provider, Request};
use shared::error::describe_aws_error;
use shared::records::Records;
use shared::settings::{SettingError, Settings};
use std::sync::Arc;

use repair::{ProviderFunctions, RepairOutcome, Repairer};

pub const DEFAULT_NAMESPACE: &str = "Stackhand/Drift";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftSettings {
    pub records_table: String,
    pub report_topic_arn: Option<String>,
    pub namespace: String,
    /// Resources checked side by side.
    pub concurrency: usize,
    /// Put drifted resources back through their providers (`REPAIR`); the functions to ask.
    pub repair: Option<ProviderFunctions>,
}

impl DriftSettings {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Settings<F>) -> Result<Self, SettingError> {
        Ok(DriftSettings {
            records_table: env.required_text(shared::records::TABLE_VARIABLE)?,
            report_topic_arn: env.text("REPORT_TOPIC_ARN"),
            namespace: env
                .text("METRIC_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            // The range fits a usize.
            concurrency: env.int("CONCURRENCY", 8, 1..=32)? as usize,
            repair: match env.bool("REPAIR", false)? {
                false => None,
                true => Some(ProviderFunctions {
                    kms: env.required_text("KMS_PROVIDER_FUNCTION")?,
                    monitoring: env.required_text("MONITORING_PROVIDER_FUNCTION")?,
                    ecs: env.required_text("ECS_PROVIDER_FUNCTION")?,
                }),
            },
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error(transparent)]
    Input(#[from] shared::schedule::NotASchedule),
    #[error("drift-detector takes no {0}: it checks every recorded resource")]
    Option(&'static str),
    #[error("could not read the drift records: {0}")]
    Records(#[from] shared::records::RecordError),
    #[error("the check ran ({0}), but its results were not delivered: {1}")]
    Delivery(String, String),
}

impl From<DriftError> for Diagnostic {
    fn from(err: DriftError) -> Diagnostic {
        let error_type = match err {
            DriftError::Input(_) | DriftError::Option(_) => "Stackhand.NotAScheduledEvent",
            DriftError::Records(_) => "Stackhand.RecordsUnreadable",
            DriftError::Delivery(..) => "Stackhand.ReportNotDelivered",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// The three providers, whose types answer the dry runs.
struct Providers {
    kms: KmsProvider,
    monitoring: MonitoringProvider,
    ecs: EcsProvider,
}

/// Which provider serves a resource type: the one routing the dry runs and the repairs share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedBy {
    Kms,
    Monitoring,
    Ecs,
}

impl ServedBy {
    pub fn of(resource_type: &str) -> Option<ServedBy> {
        if KmsProvider::RESOURCE_TYPES.contains(&resource_type) {
            Some(ServedBy::Kms)
        } else if MonitoringProvider::RESOURCE_TYPES.contains(&resource_type) {
            Some(ServedBy::Monitoring)
        } else if EcsProvider::RESOURCE_TYPES.contains(&resource_type) {
            Some(ServedBy::Ecs)
        } else {
            None
        }
    }
}

impl Providers {
    async fn drift(&self, request: &Request) -> Result<Drift, String> {
        let drift = match ServedBy::of(&request.resource_type) {
            Some(ServedBy::Kms) => self.kms.drift(request).await,
            Some(ServedBy::Monitoring) => self.monitoring.drift(request).await,
            Some(ServedBy::Ecs) => self.ecs.drift(request).await,
            None => Ok(Drift::Unchecked),
        };
        drift.map_err(|err| err.to_string())
    }
}

#[derive(Clone)]
pub struct DriftDetector {
    records: Records,
    providers: Arc<Providers>,
    sns: aws_sdk_sns::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    repairer: Option<Repairer>,
    settings: Arc<DriftSettings>,
}

impl DriftDetector {
    pub fn new(config: &SdkConfig, settings: DriftSettings) -> Self {
        DriftDetector {
            records: Records::new(
                shared::records::Client::new(config),
                settings.records_table.clone(),
            ),
            providers: Arc::new(Providers {
                kms: KmsProvider::new(config),
                monitoring: MonitoringProvider::new(config),
                ecs: EcsProvider::new(config),
            }),
            sns: aws_sdk_sns::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            repairer: settings
                .repair
                .clone()
                .map(|functions| Repairer::new(aws_sdk_lambda::Client::new(config), functions)),
            settings: Arc::new(settings),
        }
    }

    /// Reads the settings from the environment and builds the clients once.
    pub fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let settings = DriftSettings::read(&Settings::from_env()).map_err(|e| e.to_string())?;
        Ok(DriftDetector::new(config, settings))
    }

    pub async fn handle(&self, event: Value) -> Result<Value, DriftError> {
        let run = shared::schedule::parse(&event)?;
        if run.key_ids.is_some() {
            return Err(DriftError::Option("keyIds"));
        }
        let mut report = self.detect().await?;
        // `{"dryRun": true}` checks without repairing, whatever REPAIR says.
        if let Some(repairer) = self.repairer.as_ref().filter(|_| run.dry_run != Some(true)) {
            report.repairs = self.repair(repairer, &report).await;
        }
        tracing::info!(
            checked = report.resources_checked,
            drifted = report.drifted.len(),
            errors = report.errors.len(),
            repaired = report.repairs.iter().filter(|r| r.repaired).count(),
            "drift check done"
        );
        let summary = report.subject();
        let metrics = self.put_metrics(&report);
        let published = async {
            match &self.settings.report_topic_arn {
                Some(topic) if !report.drifted.is_empty() || !report.errors.is_empty() => {
                    self.publish(topic, &report).await
                }
                _ => Ok(()),
            }
        };
        let (metrics, published) = tokio::join!(metrics, published);
        let undelivered: Vec<String> = [metrics, published]
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if !undelivered.is_empty() {
            return Err(DriftError::Delivery(summary, undelivered.join("; ")));
        }
        Ok(serde_json::to_value(&report).unwrap_or_default())
    }

    /// Every record's drift, checked side by side; nothing is changed.
    pub async fn detect(&self) -> Result<Report, DriftError> {
        let (records, unreadable) = self.records.all().await?;
        tracing::info!(
            records = records.len(),
            table = self.records.table(),
            "checking"
        );
        let providers = self.providers.clone();
        let outcomes = shared::kms_scan::bounded(records, self.settings.concurrency, |record| {
            let providers = providers.clone();
            async move {
                let request = record.dry_run();
                let outcome = providers.drift(&request).await;
                (record, outcome)
            }
        })
        .await;
        let mut report = Report::new(self.records.table(), unreadable);
        for (record, outcome) in &outcomes {
            report.add(record, outcome.clone());
        }
        Ok(report)
    }

    /// Each drifted resource the rules allow, one after another (repairs are few, and each
    /// provider paces its own calls).
    async fn repair(&self, repairer: &Repairer, report: &Report) -> Vec<RepairOutcome> {
        let mut outcomes = Vec::new();
        for (record, drift) in &report.repair_candidates {
            let allowed =
                shared::cfn::repairable(&record.resource_type, record.environment(), drift);
            let result = match allowed {
                Ok(()) => repairer.repair(record).await,
                Err(why) => Err(why),
            };
            if let Err(why) = &result {
                tracing::warn!(logical_id = %record.logical_id, why, "not repaired");
            }
            outcomes.push(RepairOutcome::new(record, result));
        }
        outcomes
    }

    async fn put_metrics(&self, report: &Report) -> Result<(), String> {
        let namespace = &self.settings.namespace;
        self.cloudwatch
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(report.metric_data()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("PutMetricData to {namespace}: {}", describe_aws_error(&e)))
    }

    async fn publish(&self, topic: &str, report: &Report) -> Result<(), String> {
        self.sns
            .publish()
            .topic_arn(topic)
            .subject(report.subject())
            .message(report.message())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("Publish to {topic}: {}", describe_aws_error(&e)))
    }
}
