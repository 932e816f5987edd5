//! `Custom::KmsKeySet`: the environment profile's keys, each one a key of the same lifecycle
//! as `Custom::KmsKey`, found again by its alias.

use crate::key_set::{self, KeySetProps};
use crate::lifecycle::{self, KeyOutcome};
use crate::store::{AliasHolder, KeyStore};
use crate::{apply, retire};
use shared::cfn::{CustomResource, Drift, Outcome, Request};
use shared::{PropertyError, Props, ResourceError};

pub struct KmsKeySets {
    pub(crate) store: KeyStore,
}

fn set_outcome(set: &KeySetProps, keys: &[(&str, KeyOutcome)]) -> Outcome {
    let mut outcome = Outcome::new(set.physical_id())
        .with("KeyCount", keys.len().to_string())
        .with(
            shared::cost::ATTRIBUTE,
            set.billed().attribute(shared::cost::Prices::from_env()),
        );
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

    /// Each member key's drift, named by the key: a member whose alias no longer leads to a
    /// key this set made is deleted.
    async fn drift(
        &self,
        request: &Request,
        _physical_id: &str,
        props: &KeySetProps,
    ) -> Result<Drift, ResourceError> {
        let ctx = lifecycle::context(&self.store, request)?;
        let mut parts = Vec::new();
        for name in props.key_names() {
            let member = key_set::member(props, name, &ctx);
            let drift = match self.member_key(request, props, name).await? {
                Some(id) => apply::drift(&self.store, request, &id, &member).await?,
                None => Drift::Deleted,
            };
            parts.push((name.to_string(), drift));
        }
        Ok(Drift::of_parts(parts))
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
