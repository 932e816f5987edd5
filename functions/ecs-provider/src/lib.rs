//! ecs-provider: `Custom::EcsCluster`, a Fargate cluster whose Container Insights, capacity
//! strategy, ECS Exec and Service Connect defaults come from the environment profile. Decoding
//! and the Update plan are in `cluster.rs`, the ECS calls in `clusters.rs`; this file routes.

pub mod cluster;
pub mod clusters;

use aws_config::SdkConfig;
use aws_sdk_ecs::Client;
pub use clusters::EcsClusters;
use shared::ResourceError;
use shared::cfn::{Named, NamedResource, Outcome, Provider, Request, serve};

pub struct EcsProvider {
    clusters: Named<EcsClusters>,
}

impl EcsProvider {
    /// Builds the client once per process.
    pub fn new(config: &SdkConfig) -> Self {
        EcsProvider {
            clusters: Named(EcsClusters::new(Client::new(config))),
        }
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
}
