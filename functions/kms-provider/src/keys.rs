//! `Custom::KmsKey`: the resource CloudFormation drives. Create through `lifecycle.rs`; an
//! Update reads the key, plans (`key_plan.rs`) and applies (`apply.rs`), or replaces it when
//! the plan says so; Delete by the rules in `retire.rs`.

use crate::key::{self, ATTRIBUTES, KeyProps};
use crate::key_plan::{self, KeyStep};
use crate::lifecycle::{self, KeyOutcome};
use crate::store::KeyStore;
use crate::{apply, retire};
use shared::cfn::{Claim, CustomResource, Drift, Outcome, Request};
use shared::cost::Prices;
use shared::{PropertyError, Props, ResourceError};

pub struct KmsKeys {
    pub(crate) store: KeyStore,
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

pub(crate) fn key_outcome(key: &KeyOutcome, props: &KeyProps) -> Outcome {
    let [id, arn, aliases, rotation, replicas, cost] = ATTRIBUTES;
    Outcome::new(&key.key_id)
        .with(id, &key.key_id)
        .with(arn, &key.arn)
        .with(aliases, key.aliases.join(","))
        .with(rotation, key.rotation_enabled.to_string())
        .with(replicas, key.replica_arns.join(","))
        .with(cost, props.billed().attribute(Prices::from_env()))
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
            .map(|k| key_outcome(&k, props))
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
                .map(|k| key_outcome(&k, new));
        };
        self.store.check_account(&ctx.account).await?;
        apply::apply(&self.store, request, &live, &plan, new, &ctx)
            .await
            .map(|k| key_outcome(&k, new))
    }

    async fn drift(
        &self,
        request: &Request,
        physical_id: &str,
        props: &KeyProps,
    ) -> Result<Drift, ResourceError> {
        apply::drift(&self.store, request, physical_id, props).await
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
