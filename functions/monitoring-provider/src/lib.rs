//! monitoring-provider: the custom resources for logs and monitoring: log groups, metric and
//! composite alarms, dashboards, metric filters, Logs Insights queries, alert topics, and the
//! environment-sized alarm baseline.

pub mod alarm_decode;
pub mod alarm_metrics;
pub mod alarm_spec;
pub mod alert_topic;
pub mod alert_topics;
pub mod baseline;
pub mod baseline_catalogue;
pub mod baseline_lifecycle;
mod baseline_owned;
pub mod baseline_plan;
pub mod composite;
pub mod cw;
pub mod dashboard;
pub mod log_group;
pub mod log_groups;
pub mod metric_alarm;
pub mod metric_filter;
pub mod metric_filters;
pub mod owners;
pub mod query_definition;
pub mod query_definitions;

#[cfg(test)]
mod alarm_tests;
#[cfg(test)]
mod property_tests;

use alert_topic::AlertTopics;
use aws_config::SdkConfig;
use baseline_lifecycle::AlarmBaselines;
use composite::CompositeAlarms;
use cw::Alarms;
use dashboard::Dashboards;
use log_groups::LogGroups;
use metric_alarm::MetricAlarms;
use metric_filter::MetricFilters;
use owners::Ledger;
use query_definitions::QueryDefinitions;
use shared::ResourceError;
use shared::cfn::{
    CustomResource, Drift, Named, NamedResource, Outcome, Provider, Request, detect, serve,
};
use shared::records::Records;

/// CloudWatch's default quota for PutMetricAlarm, PutCompositeAlarm and DeleteAlarms, per
/// account and Region (CloudWatch service quotas).
pub const DEFAULT_ALARM_WRITES_PER_SECOND: i64 = 3;

pub struct MonitoringProvider {
    log_groups: Named<LogGroups>,
    metric_alarms: Named<MetricAlarms>,
    composites: Named<CompositeAlarms>,
    dashboards: Named<Dashboards>,
    filters: Named<MetricFilters>,
    queries: QueryDefinitions,
    topics: AlertTopics,
    baselines: AlarmBaselines,
    records: Option<Records>,
}

impl MonitoringProvider {
    /// Builds every client once per process, pacing alarm calls to `ALARM_WRITES_PER_SECOND`
    /// (CloudWatch's default quota, 3, unless the account's was raised).
    pub fn new(config: &SdkConfig) -> Self {
        let settings = shared::settings::Settings::from_env();
        let writes = settings
            .int(
                "ALARM_WRITES_PER_SECOND",
                DEFAULT_ALARM_WRITES_PER_SECOND,
                1..=1000,
            )
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "using CloudWatch's default alarm quota");
                DEFAULT_ALARM_WRITES_PER_SECOND
            });
        Self::with_alarm_writes_per_second(config, writes as f64)
    }

    /// As [`MonitoringProvider::new`], for an account whose CloudWatch alarm quota is `writes`.
    pub fn with_alarm_writes_per_second(config: &SdkConfig, writes: f64) -> Self {
        let logs = aws_sdk_cloudwatchlogs::Client::new(config);
        let cw = aws_sdk_cloudwatch::Client::new(config);
        let pacer = std::sync::Arc::new(cw::alarm_pacer(writes));
        let alarms = |resource_type| Alarms::new(cw.clone(), resource_type, pacer.clone());
        let ledger = Ledger::new(aws_sdk_ssm::Client::new(config), dashboard::TYPE);
        MonitoringProvider {
            log_groups: Named(LogGroups::new(logs.clone())),
            metric_alarms: Named(MetricAlarms {
                alarms: alarms(metric_alarm::TYPE),
            }),
            composites: Named(CompositeAlarms {
                alarms: alarms(composite::TYPE),
            }),
            dashboards: Named(Dashboards {
                cw: cw.clone(),
                resource_type: dashboard::TYPE,
                ledger: ledger.clone(),
            }),
            filters: Named(MetricFilters {
                logs: logs.clone(),
                resource_type: metric_filter::TYPE,
                ledger: ledger.for_type(metric_filter::TYPE),
            }),
            queries: QueryDefinitions {
                logs: logs.clone(),
                ledger: ledger.for_type(query_definition::TYPE),
            },
            topics: AlertTopics {
                sns: aws_sdk_sns::Client::new(config),
            },
            baselines: AlarmBaselines {
                alarms: alarms(baseline::TYPE),
                composites: CompositeAlarms {
                    alarms: alarms(baseline::TYPE),
                },
                dashboards: Dashboards {
                    cw,
                    resource_type: baseline::TYPE,
                    ledger: ledger.for_type(baseline::TYPE),
                },
                filters: MetricFilters {
                    logs,
                    resource_type: baseline::TYPE,
                    ledger: ledger.for_type(baseline::TYPE),
                },
            },
            records: Records::from_env(config),
        }
    }
}

impl MonitoringProvider {
    /// Records in `records` what each successful request applied (drift detection), in
    /// place of the table `RECORDS_TABLE` names.
    pub fn with_records(mut self, records: Option<Records>) -> Self {
        self.records = records;
        self
    }
}

impl Provider for MonitoringProvider {
    const NAME: &'static str = "monitoring-provider";
    const RESOURCE_TYPES: &'static [&'static str] = &[
        LogGroups::RESOURCE_TYPE,
        MetricAlarms::RESOURCE_TYPE,
        CompositeAlarms::RESOURCE_TYPE,
        Dashboards::RESOURCE_TYPE,
        MetricFilters::RESOURCE_TYPE,
        QueryDefinitions::RESOURCE_TYPE,
        AlertTopics::RESOURCE_TYPE,
        AlarmBaselines::RESOURCE_TYPE,
    ];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        match request.resource_type.as_str() {
            LogGroups::RESOURCE_TYPE => serve(&self.log_groups, request).await,
            MetricAlarms::RESOURCE_TYPE => serve(&self.metric_alarms, request).await,
            CompositeAlarms::RESOURCE_TYPE => serve(&self.composites, request).await,
            Dashboards::RESOURCE_TYPE => serve(&self.dashboards, request).await,
            MetricFilters::RESOURCE_TYPE => serve(&self.filters, request).await,
            QueryDefinitions::RESOURCE_TYPE => serve(&self.queries, request).await,
            AlertTopics::RESOURCE_TYPE => serve(&self.topics, request).await,
            AlarmBaselines::RESOURCE_TYPE => serve(&self.baselines, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }

    fn records(&self) -> Option<&Records> {
        self.records.as_ref()
    }

    async fn drift(&self, request: &Request) -> Result<Drift, ResourceError> {
        match request.resource_type.as_str() {
            LogGroups::RESOURCE_TYPE => detect(&self.log_groups, request).await,
            MetricAlarms::RESOURCE_TYPE => detect(&self.metric_alarms, request).await,
            CompositeAlarms::RESOURCE_TYPE => detect(&self.composites, request).await,
            Dashboards::RESOURCE_TYPE => detect(&self.dashboards, request).await,
            MetricFilters::RESOURCE_TYPE => detect(&self.filters, request).await,
            QueryDefinitions::RESOURCE_TYPE => detect(&self.queries, request).await,
            AlertTopics::RESOURCE_TYPE => detect(&self.topics, request).await,
            AlarmBaselines::RESOURCE_TYPE => detect(&self.baselines, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }
}
