//! monitoring-provider: the custom resources for logs and monitoring. The foundation serves
//! `Custom::LogGroup`; the other monitoring types join [`MonitoringProvider::handle`] here.

pub mod log_group;

use aws_config::SdkConfig;
use log_group::LogGroups;
use shared::ResourceError;
use shared::cfn::{Named, NamedResource, Outcome, Provider, Request, serve};

pub struct MonitoringProvider {
    log_groups: Named<LogGroups>,
}

impl MonitoringProvider {
    /// Builds every client once per process.
    pub fn new(config: &SdkConfig) -> Self {
        MonitoringProvider {
            log_groups: Named(LogGroups::new(aws_sdk_cloudwatchlogs::Client::new(config))),
        }
    }
}

impl Provider for MonitoringProvider {
    const NAME: &'static str = "monitoring-provider";
    const RESOURCE_TYPES: &'static [&'static str] = &[LogGroups::RESOURCE_TYPE];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        match request.resource_type.as_str() {
            LogGroups::RESOURCE_TYPE => serve(&self.log_groups, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }
}
