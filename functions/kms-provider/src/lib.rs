//! kms-provider: `Custom::KmsKey` (`keys.rs`) and `Custom::KmsKeySet` (`key_sets.rs`). Keys are
//! created with the policy, rotation, aliases, grants and replicas asked for, brought in step
//! on Update as planned, replaced when KeySpec, KeyUsage or MultiRegion change, and never
//! deleted immediately. This file only routes.

pub mod apply;
pub mod grants;
pub mod key;
pub mod key_plan;
pub mod key_set;
pub mod key_sets;
pub mod keys;
pub mod lifecycle;
pub mod policy;
pub mod retire;
pub mod spec;
pub mod store;

use aws_config::SdkConfig;
pub use key_sets::KmsKeySets;
pub use keys::{KmsKeys, is_key_id};
use shared::ResourceError;
use shared::cfn::{CustomResource, Drift, Outcome, Provider, Request, detect, serve};
use shared::records::Records;
use store::KeyStore;

pub struct KmsProvider {
    keys: KmsKeys,
    key_sets: KmsKeySets,
    records: Option<Records>,
}

impl KmsProvider {
    /// Builds the client once per process.
    pub fn new(config: &SdkConfig) -> Self {
        KmsProvider {
            keys: KmsKeys {
                store: KeyStore::new(config, key::TYPE),
            },
            key_sets: KmsKeySets {
                store: KeyStore::new(config, key_set::TYPE),
            },
            records: Records::from_env(config),
        }
    }
}

impl KmsProvider {
    /// Records in `records` what each successful request applied (drift detection), in
    /// place of the table `RECORDS_TABLE` names.
    pub fn with_records(mut self, records: Option<Records>) -> Self {
        self.records = records;
        self
    }
}

impl Provider for KmsProvider {
    const NAME: &'static str = "kms-provider";
    const RESOURCE_TYPES: &'static [&'static str] =
        &[KmsKeys::RESOURCE_TYPE, KmsKeySets::RESOURCE_TYPE];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        match request.resource_type.as_str() {
            KmsKeys::RESOURCE_TYPE => serve(&self.keys, request).await,
            KmsKeySets::RESOURCE_TYPE => serve(&self.key_sets, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }

    fn records(&self) -> Option<&Records> {
        self.records.as_ref()
    }

    async fn drift(&self, request: &Request) -> Result<Drift, ResourceError> {
        match request.resource_type.as_str() {
            KmsKeys::RESOURCE_TYPE => detect(&self.keys, request).await,
            KmsKeySets::RESOURCE_TYPE => detect(&self.key_sets, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }
}
