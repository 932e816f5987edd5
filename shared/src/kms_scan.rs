//! Walking an account's KMS keys: the code kms-provider, key-rotator and key-auditor share. Listing is
//! paginated, per-key work runs with bounded concurrency, and the rule for which keys KMS can
//! rotate lives here once, so the rotator skips exactly the keys the auditor never flags.

use crate::error::describe_aws_error;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{
    KeyManagerType, KeyMetadata, KeySpec, KeyState, MultiRegionKeyType, OriginType,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;

/// A KMS call that failed, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} for {target} failed: {detail}")]
pub struct KmsCallError {
    pub operation: &'static str,
    pub target: String,
    pub detail: String,
}

impl KmsCallError {
    pub fn new<E>(operation: &'static str, target: &str, err: &E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        KmsCallError {
            operation,
            target: target.to_owned(),
            detail: describe_aws_error(err),
        }
    }
}

impl KmsCallError {
    /// The same failure as a custom resource's Reason, naming the type.
    pub fn for_resource(self, resource_type: &'static str) -> crate::ResourceError {
        crate::ResourceError::Aws {
            resource_type,
            operation: self.operation,
            target: self.target,
            detail: self.detail,
        }
    }
}

/// Every item of a paginated KMS list request, page by page, or a [`KmsCallError`] naming the
/// operation and its target: one shape for ListKeys, ListAliases, ListGrants, ListResourceTags
/// and ListKeyRotations wherever they are read.
#[macro_export]
macro_rules! kms_items {
    ($request:expr, $operation:literal, $target:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| $crate::kms_scan::KmsCallError::new($operation, $target, &e))
    };
}

/// Every key id in the account, page by page.
pub async fn key_ids(kms: &Client) -> Result<Vec<String>, KmsCallError> {
    let keys = kms_items!(kms.list_keys(), "ListKeys", "the account")?;
    Ok(keys.into_iter().filter_map(|k| k.key_id).collect())
}

/// Alias names by target key id, from one paginated ListAliases.
pub async fn aliases_by_key(kms: &Client) -> Result<HashMap<String, Vec<String>>, KmsCallError> {
    let aliases = kms_items!(kms.list_aliases(), "ListAliases", "the account")?;
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for alias in aliases {
        if let (Some(key), Some(name)) = (alias.target_key_id, alias.alias_name) {
            by_key.entry(key).or_default().push(name);
        }
    }
    Ok(by_key)
}

pub async fn describe(kms: &Client, key_id: &str) -> Result<KeyMetadata, KmsCallError> {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| KmsCallError::new("DescribeKey", key_id, &e))?
        .key_metadata
        .ok_or_else(|| KmsCallError {
            operation: "DescribeKey",
            target: key_id.to_owned(),
            detail: "no key metadata in the answer".to_owned(),
        })
}

pub async fn tags(kms: &Client, key_id: &str) -> Result<BTreeMap<String, String>, KmsCallError> {
    let tags = kms_items!(
        kms.list_resource_tags().key_id(key_id),
        "ListResourceTags",
        key_id
    )?;
    Ok(tags.into_iter().map(|t| (t.tag_key, t.tag_value)).collect())
}

/// GetKeyRotationStatus: whether automatic rotation is on, and its period when KMS says it.
pub async fn rotation_status(
    kms: &Client,
    key_id: &str,
) -> Result<aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput, KmsCallError>
{
    kms.get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| KmsCallError::new("GetKeyRotationStatus", key_id, &e))
}

/// Runs `work` on every item with at most `limit` in flight; results keep the input order.
pub async fn bounded<I, T, F, Fut>(items: Vec<I>, limit: usize, work: F) -> Vec<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let limit = limit.max(1);
    let total = items.len();
    let mut results: Vec<Option<T>> = (0..total).map(|_| None).collect();
    let mut pending = items.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < limit {
            let Some((index, item)) = pending.next() else {
                break;
            };
            let fut = work(item);
            running.spawn(async move { (index, fut.await) });
        }
        match running.join_next().await {
            Some(Ok((index, value))) => results[index] = Some(value),
            // A panicking task loses only its own item.
            Some(Err(err)) => tracing::error!(error = %err, "a key's task failed"),
            None => break,
        }
    }
    results.into_iter().flatten().collect()
}

/// Why KMS cannot, or must not, rotate a key automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotRotatable {
    AwsManaged,
    Replica,
    Asymmetric(String),
    Hmac(String),
    ImportedMaterial,
    CustomKeyStore,
    NotEnabled(String),
}

impl fmt::Display for NotRotatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotRotatable::AwsManaged => write!(f, "AWS managed key: AWS rotates it every year"),
            NotRotatable::Replica => {
                write!(
                    f,
                    "multi-Region replica: rotation is set on its primary key"
                )
            }
            NotRotatable::Asymmetric(spec) => {
                write!(f, "asymmetric key ({spec}): KMS cannot rotate it")
            }
            NotRotatable::Hmac(spec) => write!(f, "HMAC key ({spec}): KMS cannot rotate it"),
            NotRotatable::ImportedMaterial => write!(
                f,
                "imported key material (EXTERNAL origin): KMS cannot rotate it; import new material by hand"
            ),
            NotRotatable::CustomKeyStore => {
                write!(f, "key in a custom key store: KMS cannot rotate it")
            }
            NotRotatable::NotEnabled(state) => {
                write!(f, "key state is {state}: only Enabled keys are rotated")
            }
        }
    }
}

/// Whether this key is one KMS rotates automatically: an Enabled, customer-managed, symmetric
/// encryption key with KMS-generated material, in KMS's own store, that is not a replica.
pub fn rotation_eligibility(key: &KeyMetadata) -> Result<(), NotRotatable> {
    if key.key_manager() == Some(&KeyManagerType::Aws) {
        return Err(NotRotatable::AwsManaged);
    }
    if key
        .multi_region_configuration()
        .and_then(|c| c.multi_region_key_type())
        == Some(&MultiRegionKeyType::Replica)
    {
        return Err(NotRotatable::Replica);
    }
    match key.key_spec() {
        Some(KeySpec::SymmetricDefault) | None => {}
        Some(spec) if spec.as_str().starts_with("HMAC_") => {
            return Err(NotRotatable::Hmac(spec.as_str().to_owned()));
        }
        Some(spec) => return Err(NotRotatable::Asymmetric(spec.as_str().to_owned())),
    }
    match key.origin() {
        Some(OriginType::External) => return Err(NotRotatable::ImportedMaterial),
        Some(OriginType::AwsCloudhsm | OriginType::ExternalKeyStore) => {
            return Err(NotRotatable::CustomKeyStore);
        }
        _ if key.custom_key_store_id().is_some() => return Err(NotRotatable::CustomKeyStore),
        _ => {}
    }
    match key.key_state() {
        Some(KeyState::Enabled) | None => Ok(()),
        Some(state) => Err(NotRotatable::NotEnabled(state.as_str().to_owned())),
    }
}

pub fn is_aws_managed(key: &KeyMetadata) -> bool {
    key.key_manager() == Some(&KeyManagerType::Aws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::MultiRegionConfiguration;

    fn key() -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
        KeyMetadata::builder()
            .key_id("k")
            .key_manager(KeyManagerType::Customer)
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
            .key_state(KeyState::Enabled)
    }

    #[test]
    fn only_enabled_symmetric_customer_keys_with_kms_material_rotate() {
        let eligible = key().build().expect("key");
        assert_eq!(rotation_eligibility(&eligible), Ok(()));
        let cases = [
            (
                key().key_manager(KeyManagerType::Aws),
                NotRotatable::AwsManaged,
            ),
            (
                key().key_spec(KeySpec::Rsa2048),
                NotRotatable::Asymmetric("RSA_2048".into()),
            ),
            (
                key().key_spec(KeySpec::Hmac256),
                NotRotatable::Hmac("HMAC_256".into()),
            ),
            (
                key().origin(OriginType::External),
                NotRotatable::ImportedMaterial,
            ),
            (
                key().origin(OriginType::AwsCloudhsm),
                NotRotatable::CustomKeyStore,
            ),
            (
                key().key_state(KeyState::Disabled),
                NotRotatable::NotEnabled("Disabled".into()),
            ),
            (
                key().multi_region_configuration(
                    MultiRegionConfiguration::builder()
                        .multi_region_key_type(MultiRegionKeyType::Replica)
                        .build(),
                ),
                NotRotatable::Replica,
            ),
        ];
        for (builder, expected) in cases {
            let key = builder.build().expect("key");
            assert_eq!(rotation_eligibility(&key), Err(expected));
        }
    }

    #[tokio::test]
    async fn bounded_keeps_order_and_limits_concurrency() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = bounded((0..40).collect(), 4, |i: u64| {
            let running = running.clone();
            let peak = peak.clone();
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(40 - i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..40).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }
}
