//! ecs-provider: `Custom::EcsCluster`, a Fargate cluster whose Container Insights, capacity
//! strategy, ECS Exec and Service Connect defaults come from the environment profile. Decoding
//! and the Update plan are in `cluster.rs`, the ECS calls in `clusters.rs`; this file routes.

pub mod cluster;
pub mod clusters;

use aws_config::SdkConfig;
use aws_sdk_ecs::Client;
pub use clusters::EcsClusters;
use shared::ResourceError;
use shared::cfn::{Drift, Named, NamedResource, Outcome, Provider, Request, detect, serve};
use shared::records::Records;

pub struct EcsProvider {
    clusters: Named<EcsClusters>,
    records: Option<Records>,
}

impl EcsProvider {
    /// Builds the client once per process.
    pub fn new(config: &SdkConfig) -> Self {
        EcsProvider {
            clusters: Named(EcsClusters::new(Client::new(config))),
            records: Records::from_env(config),
        }
    }
}

impl EcsProvider {
    /// Records in `records` what each successful request applied (drift detection), in
    /// place of the table `RECORDS_TABLE` names.
    pub fn with_records(mut self, records: Option<Records>) -> Self {
        self.records = records;
        self
    }
}

impl Provider for EcsProvider {
    const NAME: &'static str = "ecs-provider";
    const RESOURCE_TYPES: &'static [&'static str] = &[EcsClusters::RESOURCE_TYPE];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        match request.resource_type.as_str() {
            EcsClusters::RESOURCE_TYPE => serve(&self.clusters, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }

    fn records(&self) -> Option<&Records> {
        self.records.as_ref()
    }

    async fn drift(&self, request: &Request) -> Result<Drift, ResourceError> {
        match request.resource_type.as_str() {
            EcsClusters::RESOURCE_TYPE => detect(&self.clusters, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }
}
