//! The key calls of [`KeyStore`]: a key read whole for a plan, and the writes that a Create and
//! a plan's steps make. `region` names a replica's Region; `None` is the primary's.

use super::{KeyStore, Tags, kms_tags};
use crate::key_plan::{LiveKey, LiveReplica, LiveRotation, LiveState};
use crate::spec::can_rotate;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType};
use serde_json::Value;
use shared::ResourceError;

/// How a key is named in errors: its id, and the Region when it is a replica.
pub(crate) fn target(key_id: &str, region: Option<&str>) -> String {
    match region {
        Some(region) => format!("{key_id} in {region}"),
        None => key_id.to_owned(),
    }
}

fn live_state(state: Option<&KeyState>) -> LiveState {
    match state {
        Some(KeyState::Enabled) => LiveState::Enabled,
        Some(KeyState::Disabled) => LiveState::Disabled,
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) => LiveState::Gone,
        _ => LiveState::Other,
    }
}

/// The (Region, ARN) of each replica of a multi-Region primary key.
pub fn replica_arns(metadata: &KeyMetadata) -> Vec<(String, String)> {
    metadata
        .multi_region_configuration()
        .map(|c| c.replica_keys())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r.region.clone()?, r.arn.clone()?)))
        .collect()
}

/// What CreateKey is asked for.
pub struct NewKey<'a> {
    pub description: &'a str,
    pub key_spec: &'a str,
    pub key_usage: &'a str,
    pub multi_region: bool,
    pub policy: &'a Value,
    pub tags: &'a [(String, String)],
}

impl KeyStore {
    /// The key with everything a plan compares: metadata, policy, rotation, aliases, grants,
    /// tags and each replica; `None` when KMS does not know it.
    pub async fn read(&self, key_id: &str) -> Result<Option<LiveKey>, ResourceError> {
        self.read_checked(key_id, |_| Ok(())).await
    }

    /// [`Self::read`], stopping after the tags when `check` refuses them: a key this stack did
    /// not make is not read further (its policy may not even let us).
    pub async fn read_checked(
        &self,
        key_id: &str,
        check: impl FnOnce(&Tags) -> Result<(), ResourceError>,
    ) -> Result<Option<LiveKey>, ResourceError> {
        let Some(metadata) = self.describe(key_id).await? else {
            return Ok(None);
        };
        let key_id = metadata.key_id().to_owned();
        let tags = self.tags(&key_id).await?;
        check(&tags)?;
        let key_spec = metadata
            .key_spec()
            .map_or(String::new(), |s| s.as_str().to_owned());
        let rotation = match can_rotate(&key_spec) {
            true => Some(self.rotation(&key_id).await?),
            false => None,
        };
        let mut replicas = Vec::new();
        for (region, arn) in replica_arns(&metadata) {
            if let Some(replica) = self.read_replica(&key_id, &region, arn).await? {
                replicas.push(replica);
            }
        }
        Ok(Some(LiveKey {
            arn: metadata.arn().unwrap_or_default().to_owned(),
            description: metadata.description().unwrap_or_default().to_owned(),
            state: live_state(metadata.key_state()),
            key_usage: metadata
                .key_usage()
                .map_or(String::new(), |u| u.as_str().to_owned()),
            multi_region: metadata.multi_region().unwrap_or(false),
            policy: self.policy(&key_id, None).await?,
            rotation,
            aliases: self.aliases_of(&key_id).await?,
            grants: self.grants(&key_id).await?,
            tags,
            replicas,
            key_spec,
            key_id,
        }))
    }

    async fn read_replica(
        &self,
        key_id: &str,
        region: &str,
        arn: String,
    ) -> Result<Option<LiveReplica>, ResourceError> {
        let client = self.client(Some(region));
        let found = client.describe_key().key_id(key_id).send().await;
        let metadata = match found {
            Ok(out) => out.key_metadata,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(self.err("DescribeKey", &target(key_id, Some(region)), &e)),
        };
        let Some(metadata) = metadata else {
            return Ok(None);
        };
        Ok(Some(LiveReplica {
            region: region.to_owned(),
            arn,
            description: metadata.description().unwrap_or_default().to_owned(),
            state: live_state(metadata.key_state()),
            policy: self.policy(key_id, Some(region)).await?,
        }))
    }

    async fn policy(
        &self,
        key_id: &str,
        region: Option<&str>,
    ) -> Result<Option<Value>, ResourceError> {
        let client = self.client(region);
        let out = client
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| self.err("GetKeyPolicy", &target(key_id, region), &e))?;
        Ok(out.policy().and_then(|p| serde_json::from_str(p).ok()))
    }

    async fn rotation(&self, key_id: &str) -> Result<LiveRotation, ResourceError> {
        let status = shared::kms_scan::rotation_status(&self.kms, key_id)
            .await
            .map_err(|e| e.for_resource(self.resource_type))?;
        Ok(LiveRotation {
            enabled: status.key_rotation_enabled(),
            period_days: status.rotation_period_in_days(),
        })
    }

    pub async fn create_key(
        &self,
        key: &NewKey<'_>,
        logical_id: &str,
    ) -> Result<KeyMetadata, ResourceError> {
        let created = self
            .kms
            .create_key()
            .description(key.description)
            .key_spec(KeySpec::from(key.key_spec))
            .key_usage(KeyUsageType::from(key.key_usage))
            .multi_region(key.multi_region)
            .policy(key.policy.to_string())
            .set_tags(Some(kms_tags(key.tags)))
            .send()
            .await
            .map_err(|e| self.err("CreateKey", logical_id, &e))?;
        created
            .key_metadata
            .ok_or_else(|| self.refused("CreateKey returned no key metadata"))
    }

    /// Makes a replica of `key_id` in `region`; its ARN.
    pub async fn replicate(
        &self,
        key_id: &str,
        region: &str,
        description: &str,
        policy: &Value,
        tags: &[(String, String)],
    ) -> Result<String, ResourceError> {
        let out = self
            .kms
            .replicate_key()
            .key_id(key_id)
            .replica_region(region)
            .description(description)
            .policy(policy.to_string())
            .set_tags(Some(kms_tags(tags)))
            .send()
            .await
            .map_err(|e| self.err("ReplicateKey", &format!("{key_id} to {region}"), &e))?;
        Ok(out
            .replica_key_metadata
            .and_then(|m| m.arn)
            .unwrap_or_default())
    }

    pub async fn cancel_deletion(&self, key_id: &str) -> Result<(), ResourceError> {
        self.kms
            .cancel_key_deletion()
            .key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("CancelKeyDeletion", key_id, &e))
    }

    pub async fn set_description(
        &self,
        key_id: &str,
        region: Option<&str>,
        description: &str,
    ) -> Result<(), ResourceError> {
        let client = self.client(region);
        client
            .update_key_description()
            .key_id(key_id)
            .description(description)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateKeyDescription", &target(key_id, region), &e))
    }

    pub async fn put_policy(
        &self,
        key_id: &str,
        region: Option<&str>,
        policy: &Value,
    ) -> Result<(), ResourceError> {
        let client = self.client(region);
        client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(policy.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("PutKeyPolicy", &target(key_id, region), &e))
    }

    pub async fn set_enabled(
        &self,
        key_id: &str,
        region: Option<&str>,
        enabled: bool,
    ) -> Result<(), ResourceError> {
        let client = self.client(region);
        let target = target(key_id, region);
        match enabled {
            true => client
                .enable_key()
                .key_id(key_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("EnableKey", &target, &e)),
            false => client
                .disable_key()
                .key_id(key_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("DisableKey", &target, &e)),
        }
    }

    pub async fn enable_rotation(&self, key_id: &str, days: i32) -> Result<(), ResourceError> {
        self.kms
            .enable_key_rotation()
            .key_id(key_id)
            .rotation_period_in_days(days)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("EnableKeyRotation", key_id, &e))
    }

    pub async fn disable_rotation(&self, key_id: &str) -> Result<(), ResourceError> {
        self.kms
            .disable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisableKeyRotation", key_id, &e))
    }

    pub async fn delete_alias(&self, alias: &str) -> Result<(), ResourceError> {
        self.kms
            .delete_alias()
            .alias_name(alias)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DeleteAlias", alias, &e))
    }

    /// Points an existing alias at another key.
    pub async fn move_alias(&self, alias: &str, key_id: &str) -> Result<(), ResourceError> {
        self.kms
            .update_alias()
            .alias_name(alias)
            .target_key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateAlias", alias, &e))
    }

    pub async fn untag(&self, key_id: &str, keys: &[String]) -> Result<(), ResourceError> {
        self.kms
            .untag_resource()
            .key_id(key_id)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UntagResource", key_id, &e))
    }
}
