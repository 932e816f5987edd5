//! Reads KMS in the emulator the way a test checks a key: state, rotation, aliases, tags,
//! policy and grants.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeyMetadata, KeyState};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone)]
pub struct KmsView {
    pub kms: Client,
}

impl KmsView {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        KmsView {
            kms: Client::new(config),
        }
    }

    pub async fn key(&self, key_id: &str) -> KeyMetadata {
        self.kms
            .describe_key()
            .key_id(key_id)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata
            .expect("metadata")
    }

    pub async fn state(&self, key_id: &str) -> KeyState {
        self.key(key_id).await.key_state.expect("state")
    }

    pub async fn rotation_enabled(&self, key_id: &str) -> bool {
        self.kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .expect("GetKeyRotationStatus")
            .key_rotation_enabled()
    }

    /// Sorted alias names that point at the key.
    pub async fn aliases(&self, key_id: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .kms
            .list_aliases()
            .key_id(key_id)
            .send()
            .await
            .expect("ListAliases")
            .aliases()
            .iter()
            .filter(|a| a.target_key_id() == Some(key_id))
            .filter_map(|a| a.alias_name().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    pub async fn alias_target(&self, alias: &str) -> Option<String> {
        self.kms
            .describe_key()
            .key_id(alias)
            .send()
            .await
            .ok()
            .and_then(|o| o.key_metadata)
            .map(|m| m.key_id)
    }

    pub async fn tags(&self, key_id: &str) -> HashMap<String, String> {
        self.kms
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .expect("ListResourceTags")
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect()
    }

    pub async fn policy(&self, key_id: &str) -> Value {
        let text = self
            .kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .expect("GetKeyPolicy")
            .policy
            .expect("policy");
        serde_json::from_str(&text).expect("policy JSON")
    }

    /// `(name, sorted operations)` of each grant.
    pub async fn grants(&self, key_id: &str) -> Vec<(String, Vec<String>)> {
        let mut grants: Vec<(String, Vec<String>)> = self
            .kms
            .list_grants()
            .key_id(key_id)
            .send()
            .await
            .expect("ListGrants")
            .grants()
            .iter()
            .map(|g| {
                let mut ops: Vec<String> = g
                    .operations()
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect();
                ops.sort();
                (g.name().unwrap_or_default().to_owned(), ops)
            })
            .collect();
        grants.sort();
        grants
    }

    /// Days until a key pending deletion is deleted, from its DeletionDate.
    pub async fn pending_days(&self, key_id: &str) -> i64 {
        let date = self.key(key_id).await.deletion_date.expect("DeletionDate");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs_f64();
        ((date.as_secs_f64() - now) / 86_400.0).round() as i64
    }

    /// Every key id in the account, whatever its state.
    pub async fn all_keys(&self) -> Vec<String> {
        self.kms
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("ListKeys")
            .into_iter()
            .filter_map(|k| k.key_id)
            .collect()
    }

    /// Keys not pending deletion.
    pub async fn live_keys(&self) -> Vec<String> {
        let mut live = Vec::new();
        for id in self.all_keys().await {
            if !matches!(
                self.state(&id).await,
                KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
            ) {
                live.push(id);
            }
        }
        live
    }
}

/// A key made directly with the SDK, the way a user or another tool would have made it.
#[derive(Default)]
pub struct NewKey<'a> {
    pub spec: Option<&'a str>,
    pub usage: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub alias: Option<&'a str>,
    pub tags: &'a [(&'a str, &'a str)],
    pub rotation: bool,
    pub policy: Option<Value>,
    pub multi_region: bool,
}

impl KmsView {
    pub async fn create(&self, key: NewKey<'_>) -> String {
        use aws_sdk_kms::types::{KeySpec, KeyUsageType, OriginType, Tag};
        let tags: Vec<Tag> = key
            .tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .tag_key(*k)
                    .tag_value(*v)
                    .build()
                    .expect("tag")
            })
            .collect();
        let mut request = self
            .kms
            .create_key()
            .set_tags(Some(tags))
            .multi_region(key.multi_region)
            .set_policy(key.policy.map(|p| p.to_string()));
        if let Some(spec) = key.spec {
            request = request.key_spec(KeySpec::from(spec));
        }
        if let Some(usage) = key.usage {
            request = request.key_usage(KeyUsageType::from(usage));
        }
        if let Some(origin) = key.origin {
            request = request.origin(OriginType::from(origin));
        }
        let id = request
            .send()
            .await
            .expect("CreateKey")
            .key_metadata
            .expect("metadata")
            .key_id;
        if key.rotation {
            self.kms
                .enable_key_rotation()
                .key_id(&id)
                .send()
                .await
                .expect("EnableKeyRotation");
        }
        if let Some(alias) = key.alias {
            self.kms
                .create_alias()
                .alias_name(alias)
                .target_key_id(&id)
                .send()
                .await
                .expect("CreateAlias");
        }
        id
    }
}
