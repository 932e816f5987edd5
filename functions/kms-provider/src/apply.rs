//! Performing a key's plan (`key_plan.rs`), one step after another in the plan's order, each
//! through `KeyStore`.

use crate::key::KeyProps;
use crate::key_plan::{self, KeyStep, LiveKey, LiveState, in_region};
use crate::lifecycle::{KeyOutcome, context, policy_document, wanted_tags};
use crate::policy::KeyContext;
use crate::store::KeyStore;
use shared::ResourceError;
use shared::cfn::{Claim, Drift, Request, TAG_PREFIX};
use shared::plan::Plan;

/// Brings a key this request (or set) already made to `new`: read, plan, apply. A change that
/// would need a new key is refused, since only CloudFormation's Update may replace one.
pub async fn bring_in_step(
    store: &KeyStore,
    request: &Request,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
) -> Result<KeyOutcome, ResourceError> {
    let ctx = context(store, request)?;
    store.check_account(&ctx.account).await?;
    let Some(live) = store.read(key_id).await? else {
        return Err(store.refused(format!(
            "key {key_id} no longer exists; remove the resource from the stack and create it again"
        )));
    };
    let plan = key_plan::plan(Some(&live), old, new, &ctx).map_err(|m| store.refused(m))?;
    if plan.needs(&KeyStep::Replace) {
        let differs: Vec<String> = plan
            .changes
            .iter()
            .map(|c| format!("{} is {} (asked: {})", c.property, c.live, c.desired))
            .collect();
        return Err(store.refused(format!(
            "key {key_id} cannot be changed in place: {}",
            differs.join("; ")
        )));
    }
    apply(store, request, &live, &plan, new, &ctx).await
}

/// The dry run of an Update of `key_id` to `props`: the plan against the live key, nothing
/// applied. A key pending deletion counts as deleted; a key whose owner record names someone
/// else is read no further.
pub async fn drift(
    store: &KeyStore,
    request: &Request,
    key_id: &str,
    props: &KeyProps,
) -> Result<Drift, ResourceError> {
    let ctx = context(store, request)?;
    let mut holder = None;
    let live = store
        .read_checked(key_id, |tags| {
            let claim = Claim::of(tags, request);
            if claim.is_ours() {
                return Ok(());
            }
            holder = Some(claim.holder());
            Err(store.refused(format!("key {key_id} is not this stack's")))
        })
        .await;
    if let Some(holder) = holder {
        return Ok(Drift::Foreign(holder));
    }
    match live? {
        None => Ok(Drift::Deleted),
        Some(live) if live.state == LiveState::Gone => Ok(Drift::Deleted),
        Some(live) => {
            let plan = key_plan::plan(Some(&live), Some(props), props, &ctx)
                .map_err(|m| store.refused(m))?;
            Ok(Drift::of(&plan))
        }
    }
}

/// Performs `plan` on `live`. Alias moves are checked against their holder as they happen.
pub async fn apply(
    store: &KeyStore,
    request: &Request,
    live: &LiveKey,
    plan: &Plan<KeyStep>,
    new: &KeyProps,
    ctx: &KeyContext,
) -> Result<KeyOutcome, ResourceError> {
    let key_id = live.key_id.as_str();
    if !plan.is_empty() {
        tracing::info!(key_id, changes = ?plan.properties(), "bringing the key in step");
    }
    let mut added = Vec::new();
    for change in &plan.changes {
        match &change.step {
            KeyStep::Replace => {
                return Err(store.refused(format!(
                    "{} changes need a new key; only an Update replaces one",
                    change.property
                )));
            }
            KeyStep::CancelDeletion => {
                store.cancel_deletion(key_id).await?;
                tracing::warn!(
                    key_id,
                    "deletion was scheduled outside CloudFormation; cancelled"
                );
            }
            KeyStep::Description => {
                store
                    .set_description(key_id, None, &new.description)
                    .await?
            }
            KeyStep::Enable => store.set_enabled(key_id, None, true).await?,
            KeyStep::Disable => store.set_enabled(key_id, None, false).await?,
            KeyStep::Policy => {
                store
                    .put_policy(key_id, None, &policy_document(new, ctx))
                    .await?
            }
            KeyStep::EnableRotation(days) => store.enable_rotation(key_id, *days).await?,
            KeyStep::DisableRotation => store.disable_rotation(key_id).await?,
            KeyStep::PointAlias(alias) => {
                let holder = store.alias_holder(request, alias).await?;
                store.point_alias(alias, key_id, &holder).await?;
            }
            KeyStep::DeleteAlias(alias) => store.delete_alias(alias).await?,
            KeyStep::RevokeGrant(grant_id) => store.revoke_grant(key_id, grant_id).await?,
            KeyStep::CreateGrant(grant) => store.create_grant(key_id, grant).await?,
            KeyStep::Retag(untag, tag) => {
                if !untag.is_empty() {
                    store.untag(key_id, untag).await?;
                }
                store.tag(key_id, tag).await?;
            }
            KeyStep::AddReplica(region) => {
                let arn = store
                    .replicate(
                        key_id,
                        region,
                        &new.description,
                        &policy_document(new, &in_region(ctx, region)),
                        &replica_tags(live, new),
                    )
                    .await?;
                added.push((region.clone(), arn));
            }
            KeyStep::ReplicaDescription(region) => {
                store
                    .set_description(key_id, Some(region), &new.description)
                    .await?
            }
            KeyStep::ReplicaPolicy(region) => {
                let policy = policy_document(new, &in_region(ctx, region));
                store.put_policy(key_id, Some(region), &policy).await?
            }
            KeyStep::ReplicaEnabled(region, enabled) => {
                store.set_enabled(key_id, Some(region), *enabled).await?
            }
            KeyStep::RetireReplica(region) if new.retain_on_delete => {
                tracing::info!(
                    key_id,
                    region,
                    "replica removed from the stack and retained"
                );
            }
            KeyStep::RetireReplica(region) => {
                store
                    .schedule_deletion(key_id, Some(region), new.pending_window_days)
                    .await?
            }
        }
    }
    let replica_arns = new
        .replica_regions
        .iter()
        .filter_map(|region| {
            let live = live.replicas.iter().find(|r| &r.region == region);
            live.map(|r| r.arn.clone()).or_else(|| {
                added
                    .iter()
                    .find(|(r, _)| r == region)
                    .map(|(_, arn)| arn.clone())
            })
        })
        .collect();
    Ok(KeyOutcome {
        key_id: key_id.to_owned(),
        arn: live.arn.clone(),
        aliases: new.aliases.clone(),
        rotation_enabled: new.rotation_period_days.is_some(),
        replica_arns,
    })
}

/// A new replica carries the key's wanted tags and its owner records.
fn replica_tags(live: &LiveKey, new: &KeyProps) -> Vec<(String, String)> {
    let mut tags = wanted_tags(new);
    let owner_records: Vec<(String, String)> = live
        .tags
        .iter()
        .filter(|(k, _)| k.starts_with(TAG_PREFIX) && !tags.iter().any(|(w, _)| w == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    tags.extend(owner_records);
    tags
}
