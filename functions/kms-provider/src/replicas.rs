//! Multi-Region replicas: made with the primary, each with a policy built for its own Region,
//! kept in step on every Update (description, policy, enabled state), and retired by the
//! delete rules when a Region is dropped.

use crate::key::KeyProps;
use crate::lifecycle::{checked_policy, set_enabled, wanted_tags};
use crate::policy::KeyContext;
use crate::reconcile::reconcile_policy;
use crate::store::{KeyStore, kms_tags};
use aws_sdk_kms::types::{KeyMetadata, KeyState};
use shared::ResourceError;
use shared::cfn::TAG_PREFIX;

/// The context a replica's policy is built with: its own Region (`kms:ViaService` names
/// `rds.<replica-region>`, not the primary's).
fn in_region(ctx: &KeyContext, region: &str) -> KeyContext {
    KeyContext {
        region: region.to_owned(),
        ..ctx.clone()
    }
}

pub(crate) async fn replicate(
    store: &KeyStore,
    key_id: &str,
    region: &str,
    props: &KeyProps,
    ctx: &KeyContext,
    tags: &[(String, String)],
) -> Result<String, ResourceError> {
    let out = store
        .kms
        .replicate_key()
        .key_id(key_id)
        .replica_region(region)
        .description(&props.description)
        .policy(checked_policy(store, props, &in_region(ctx, region))?.to_string())
        .set_tags(Some(kms_tags(tags)))
        .send()
        .await
        .map_err(|e| store.err("ReplicateKey", &format!("{key_id} to {region}"), &e))?;
    Ok(out
        .replica_key_metadata
        .and_then(|m| m.arn)
        .unwrap_or_default())
}

pub(crate) fn replica_arns(metadata: &KeyMetadata) -> Vec<(String, String)> {
    metadata
        .multi_region_configuration()
        .map(|c| c.replica_keys())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r.region.clone()?, r.arn.clone()?)))
        .collect()
}

/// Adds the wanted replicas and removes the ones the old properties had and the new lack,
/// following the delete rules. Returns the replica ARNs.
pub(crate) async fn reconcile_replicas(
    store: &KeyStore,
    key_id: &str,
    live: &KeyMetadata,
    old: Option<&KeyProps>,
    new: &KeyProps,
    ctx: &KeyContext,
) -> Result<Vec<String>, ResourceError> {
    let existing = replica_arns(live);
    let mut arns = Vec::new();
    for region in &new.replica_regions {
        match existing.iter().find(|(r, _)| r == region) {
            Some((_, arn)) => {
                keep_replica_in_step(store, key_id, region, new, ctx).await?;
                arns.push(arn.clone());
            }
            None => {
                let mut tags = wanted_tags(new);
                tags.extend(
                    store
                        .tags(key_id)
                        .await?
                        .into_iter()
                        .filter(|(k, _)| k.starts_with(TAG_PREFIX)),
                );
                arns.push(replicate(store, key_id, region, new, ctx, &tags).await?);
            }
        }
    }
    let removed = existing.iter().filter(|(region, _)| {
        !new.replica_regions.contains(region)
            && old.is_some_and(|o| o.replica_regions.contains(region))
    });
    for (region, _) in removed {
        retire_replica(store, key_id, region, new).await?;
    }
    Ok(arns)
}

/// A replica has its own description, policy and enabled state: each follows the primary's
/// properties (its policy with its own Region's context), so removing a user or disabling the
/// key takes effect in every Region.
async fn keep_replica_in_step(
    store: &KeyStore,
    key_id: &str,
    region: &str,
    props: &KeyProps,
    ctx: &KeyContext,
) -> Result<(), ResourceError> {
    let client = store.in_region(region);
    let target = format!("{key_id} in {region}");
    let live = client
        .describe_key()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| store.err("DescribeKey", &target, &e))?
        .key_metadata;
    let Some(live) = live else {
        return Ok(());
    };
    if live.description().unwrap_or_default() != props.description {
        client
            .update_key_description()
            .key_id(key_id)
            .description(&props.description)
            .send()
            .await
            .map_err(|e| store.err("UpdateKeyDescription", &target, &e))?;
    }
    let wanted = checked_policy(store, props, &in_region(ctx, region))?;
    reconcile_policy(store, &client, key_id, &target, &wanted).await?;
    match (live.key_state(), props.enabled) {
        (Some(KeyState::Disabled), true) | (Some(KeyState::Enabled), false) => {
            set_enabled(store, &client, key_id, &target, props.enabled).await?;
        }
        _ => {}
    }
    Ok(())
}

async fn retire_replica(
    store: &KeyStore,
    key_id: &str,
    region: &str,
    props: &KeyProps,
) -> Result<(), ResourceError> {
    let client = store.in_region(region);
    if props.retain_on_delete {
        tracing::info!(
            key_id,
            region,
            "replica removed from the stack and retained"
        );
        return Ok(());
    }
    store
        .schedule_deletion(&client, key_id, props.pending_window_days)
        .await
}
