//! kms-provider: `Custom::KmsKey` and `Custom::KmsKeySet`. Keys are created with the policy,
//! rotation, aliases, grants and replicas asked for, reconciled in place on Update, replaced
//! when KeySpec, KeyUsage or MultiRegion change, and never deleted immediately.

pub mod apply;
pub mod grants;
pub mod key;
pub mod key_plan;
pub mod key_set;
pub mod lifecycle;
pub mod policy;
pub mod retire;
pub mod spec;
pub mod store;

use aws_config::SdkConfig;
use key::{ATTRIBUTES, KeyProps};
use key_plan::KeyStep;
use key_set::KeySetProps;
use lifecycle::KeyOutcome;
use shared::cfn::{Claim, CustomResource, Outcome, Provider, Request, serve};
use shared::{PropertyError, Props, ResourceError};
use store::{AliasHolder, KeyStore};

pub struct KmsKeys {
    store: KeyStore,
}

/// A key id as KMS makes them: a UUID, or for multi-Region keys `mrk-` and 32 hex digits
/// (the emulator writes them `mrk-` and a UUID).
pub fn is_key_id(text: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    let uuid = |s: &str| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
    };
    match text.strip_prefix("mrk-") {
        Some(rest) => (rest.len() == 32 && hex(rest)) || uuid(rest),
        None => uuid(text),
    }
}

pub(crate) fn key_outcome(key: &KeyOutcome) -> Outcome {
    let [id, arn, aliases, rotation, replicas] = ATTRIBUTES;
    Outcome::new(&key.key_id)
        .with(id, &key.key_id)
        .with(arn, &key.arn)
        .with(aliases, key.aliases.join(","))
        .with(rotation, key.rotation_enabled.to_string())
        .with(replicas, key.replica_arns.join(","))
}

impl CustomResource for KmsKeys {
    const RESOURCE_TYPE: &'static str = key::TYPE;
    type Properties = KeyProps;

    fn decode(props: &mut Props) -> Result<KeyProps, PropertyError> {
        key::decode(props)
    }

    async fn create(&self, request: &Request, props: &KeyProps) -> Result<Outcome, ResourceError> {
        lifecycle::create(&self.store, request, props, None)
            .await
            .map(|k| key_outcome(&k))
    }

    /// A new KeySpec, KeyUsage or MultiRegion (judged on the live key) makes a new key; the
    /// old one is handled by CloudFormation's later Delete.
    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&KeyProps>,
        new: &KeyProps,
    ) -> Result<Outcome, ResourceError> {
        let live = self
            .store
            .read_checked(physical_id, |tags| {
                let claim = Claim::of(tags, request);
                match claim.is_ours() {
                    true => Ok(()),
                    false => Err(claim.refusal(key::TYPE, &format!("key {physical_id}"), "change")),
                }
            })
            .await?;
        let ctx = lifecycle::context(&self.store, request)?;
        let plan = key_plan::plan(live.as_ref(), old, new, &ctx)
            .map_err(|message| self.store.refused(message))?;
        let Some(live) = live.filter(|_| !plan.needs(&KeyStep::Replace)) else {
            tracing::info!(old_key = physical_id, changes = ?plan.properties(), "replacing the key");
            let replaces = plan.changes.iter().all(|c| c.property != "KeyId");
            return lifecycle::create(&self.store, request, new, replaces.then_some(physical_id))
                .await
                .map(|k| key_outcome(&k));
        };
        self.store.check_account(&ctx.account).await?;
        apply::apply(&self.store, request, &live, &plan, new, &ctx)
            .await
            .map(|k| key_outcome(&k))
    }

    async fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        props: &KeyProps,
    ) -> Result<(), ResourceError> {
        retire::delete(&self.store, request, physical_id, props).await
    }

    fn is_own_id(&self, physical_id: &str, _props: &KeyProps) -> bool {
        is_key_id(physical_id)
    }

    /// The key holding one of the aliases, if this logical resource made it lately.
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &KeyProps,
    ) -> Result<(), ResourceError> {
        for alias in &props.aliases {
            if let Some(key_id) = self
                .store
                .made_lately_by_logical_resource(cancelled, alias)
                .await?
            {
                tracing::info!(key_id, "removing the key the cancelled Create made");
                retire::delete(&self.store, cancelled, &key_id, props).await?;
            }
        }
        Ok(())
    }

    /// A key the failed Create made (found by its request tag) follows the delete rules:
    /// deletion scheduled with the pending window, or retained in uat/prod.
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &KeyProps,
    ) -> Result<(), ResourceError> {
        for key_id in self.store.made_by(failed).await? {
            tracing::info!(key_id, "removing the key the failed Create made");
            retire::delete(&self.store, failed, &key_id, props).await?;
        }
        Ok(())
    }
}

pub struct KmsKeySets {
    store: KeyStore,
}

fn set_outcome(set: &KeySetProps, keys: &[(&str, KeyOutcome)]) -> Outcome {
    let mut outcome = Outcome::new(set.physical_id()).with("KeyCount", keys.len().to_string());
    for (name, key) in keys {
        let stem = key_set::attribute_stem(name);
        outcome = outcome
            .with(&format!("{stem}KeyArn"), &key.arn)
            .with(&format!("{stem}KeyId"), &key.key_id);
    }
    outcome
}

impl KmsKeySets {
    /// The member key `name` of this set, if this stack's resource made it.
    async fn member_key(
        &self,
        request: &Request,
        set: &KeySetProps,
        name: &str,
    ) -> Result<Option<String>, ResourceError> {
        let alias = set.alias(name);
        match self.store.alias_holder(request, &alias).await? {
            AliasHolder::Free => Ok(None),
            AliasHolder::ThisRequest(id) | AliasHolder::SameResource(id) => Ok(Some(id)),
            AliasHolder::Other { key_id, why } => {
                tracing::warn!(
                    alias,
                    key_id,
                    why,
                    "alias names a key this set did not create"
                );
                Ok(None)
            }
        }
    }

    async fn create_all(
        &self,
        request: &Request,
        set: &KeySetProps,
    ) -> Result<Outcome, ResourceError> {
        let ctx = lifecycle::context(&self.store, request)?;
        let mut keys = Vec::new();
        for name in set.key_names() {
            let member = key_set::member(set, name, &ctx);
            keys.push((
                *name,
                lifecycle::create(&self.store, request, &member, None).await?,
            ));
        }
        Ok(set_outcome(set, &keys))
    }

    /// Deletes a member by the stricter of two property sets' rules: retained if either
    /// retains, and the longer pending window.
    async fn remove_member(
        &self,
        request: &Request,
        set: &KeySetProps,
        name: &str,
        stricter: Option<&KeySetProps>,
    ) -> Result<(), ResourceError> {
        let Some(key_id) = self.member_key(request, set, name).await? else {
            return Ok(());
        };
        let ctx = lifecycle::context(&self.store, request)?;
        let mut member = key_set::member(set, name, &ctx);
        if let Some(other) = stricter {
            member.retain_on_delete |= other.retain_on_delete;
            member.pending_window_days = member.pending_window_days.max(other.pending_window_days);
        }
        retire::delete(&self.store, request, &key_id, &member).await
    }
}

impl CustomResource for KmsKeySets {
    const RESOURCE_TYPE: &'static str = key_set::TYPE;
    type Properties = KeySetProps;

    fn decode(props: &mut Props) -> Result<KeySetProps, PropertyError> {
        key_set::decode(props)
    }

    async fn create(
        &self,
        request: &Request,
        props: &KeySetProps,
    ) -> Result<Outcome, ResourceError> {
        self.create_all(request, props).await
    }

    /// A new Prefix is a replacement; otherwise keys the profile adds are created, keys it
    /// drops follow the delete rules, and the rest are reconciled.
    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&KeySetProps>,
        new: &KeySetProps,
    ) -> Result<Outcome, ResourceError> {
        if physical_id != new.physical_id() {
            return self.create_all(request, new).await;
        }
        let ctx = lifecycle::context(&self.store, request)?;
        let mut keys = Vec::new();
        for name in new.key_names() {
            let member = key_set::member(new, name, &ctx);
            let old_member = old.map(|o| key_set::member(o, name, &ctx));
            let key = match self.member_key(request, new, name).await? {
                Some(id) => {
                    apply::bring_in_step(&self.store, request, &id, old_member.as_ref(), &member)
                        .await?
                }
                None => lifecycle::create(&self.store, request, &member, None).await?,
            };
            keys.push((*name, key));
        }
        // Without old properties, look at every name a profile could have used.
        let previous: Vec<&str> = match old {
            Some(old) => old.key_names().to_vec(),
            None => key_set::ALL_KEY_NAMES.to_vec(),
        };
        for name in previous
            .into_iter()
            .filter(|n| !new.key_names().contains(n))
        {
            self.remove_member(request, new, name, old).await?;
        }
        Ok(set_outcome(new, &keys))
    }

    async fn delete(
        &self,
        request: &Request,
        _physical_id: &str,
        props: &KeySetProps,
    ) -> Result<(), ResourceError> {
        for name in key_set::ALL_KEY_NAMES {
            self.remove_member(request, props, name, None).await?;
        }
        Ok(())
    }

    fn is_own_id(&self, physical_id: &str, props: &KeySetProps) -> bool {
        physical_id == props.physical_id()
    }

    /// Each member key, by its alias, if this logical resource made it lately.
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &KeySetProps,
    ) -> Result<(), ResourceError> {
        let ctx = lifecycle::context(&self.store, cancelled)?;
        for name in props.key_names() {
            if let Some(key_id) = self
                .store
                .made_lately_by_logical_resource(cancelled, &props.alias(name))
                .await?
            {
                tracing::info!(key_id, "removing a key the cancelled Create made");
                let member = key_set::member(props, name, &ctx);
                retire::delete(&self.store, cancelled, &key_id, &member).await?;
            }
        }
        Ok(())
    }

    /// Every key the failed Create made, with or without its alias yet, follows the set's
    /// delete rules (the same for every member: they come from the environment).
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &KeySetProps,
    ) -> Result<(), ResourceError> {
        let ctx = lifecycle::context(&self.store, failed)?;
        let rules = key_set::member(props, "main", &ctx);
        for key_id in self.store.made_by(failed).await? {
            tracing::info!(key_id, "removing a key the failed Create made");
            retire::delete(&self.store, failed, &key_id, &rules).await?;
        }
        Ok(())
    }
}

pub struct KmsProvider {
    keys: KmsKeys,
    key_sets: KmsKeySets,
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
        }
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
}
