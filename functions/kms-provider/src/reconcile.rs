//! Bringing a live key to its properties: policy, rotation, aliases, grants, tags, replicas and
//! enabled state, in the order KMS accepts on a disabled key.

use crate::grants;
use crate::key::KeyProps;
use crate::lifecycle::{
    KeyOutcome, check_regions, checked_policy, context, set_enabled, wanted_tags,
};
use crate::replicas::reconcile_replicas;
use crate::spec::can_rotate;
use crate::store::{KeyStore, is_gone};
use aws_sdk_kms::types::KeyState;
use serde_json::Value;
use shared::ResourceError;
use shared::cfn::{Request, TAG_PREFIX};

/// Brings an existing key to `new`. `old` is absent on adoption, or when the old properties
/// no longer decode: then nothing the user may have added outside CloudFormation is removed.
pub async fn reconcile(
    store: &KeyStore,
    request: &Request,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
) -> Result<KeyOutcome, ResourceError> {
    let ctx = context(store, request)?;
    check_regions(store, new, &ctx)?;
    store.check_account(&ctx.account).await?;
    let Some(mut live) = store.describe(key_id).await? else {
        return Err(store.refused(format!(
            "key {key_id} no longer exists; remove the resource from the stack and create it again"
        )));
    };
    if is_gone(live.key_state()) {
        // Deletion scheduled outside CloudFormation: the stack still wants this key.
        store
            .kms
            .cancel_key_deletion()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| store.err("CancelKeyDeletion", key_id, &e))?;
        tracing::warn!(
            key_id,
            "deletion was scheduled outside CloudFormation; cancelled"
        );
        live.key_state = Some(KeyState::Disabled);
    }

    if live.description().unwrap_or_default() != new.description {
        store
            .kms
            .update_key_description()
            .key_id(key_id)
            .description(&new.description)
            .send()
            .await
            .map_err(|e| store.err("UpdateKeyDescription", key_id, &e))?;
    }
    // KMS refuses rotation and grant changes on a disabled key (DisabledException): enable
    // first, and disable last.
    let disabled = live.key_state() == Some(&KeyState::Disabled);
    if disabled && new.enabled {
        set_enabled(store, &store.kms, key_id, key_id, true).await?;
    }
    let stays_disabled = disabled && !new.enabled;
    let policy = checked_policy(store, new, &ctx)?;
    reconcile_policy(store, &store.kms, key_id, key_id, &policy).await?;
    if can_rotate(new.key_spec) {
        reconcile_rotation(store, key_id, old, new, stays_disabled).await?;
    }
    reconcile_aliases(store, request, key_id, old, new).await?;
    reconcile_grants(store, key_id, old, new, stays_disabled).await?;
    reconcile_tags(store, key_id, old, new).await?;
    let replica_arns = reconcile_replicas(store, key_id, &live, old, new, &ctx).await?;
    if live.key_state() == Some(&KeyState::Enabled) && !new.enabled {
        set_enabled(store, &store.kms, key_id, key_id, false).await?;
    }
    Ok(KeyOutcome {
        key_id: key_id.to_owned(),
        arn: live.arn().unwrap_or_default().to_owned(),
        aliases: new.aliases.clone(),
        rotation_enabled: new.rotation_period_days.is_some(),
        replica_arns,
    })
}

/// Puts `wanted` when the stored policy differs, through `client` (the primary's, or a
/// replica Region's); `target` names the key in errors.
pub(crate) async fn reconcile_policy(
    store: &KeyStore,
    client: &aws_sdk_kms::Client,
    key_id: &str,
    target: &str,
    wanted: &Value,
) -> Result<(), ResourceError> {
    let live = client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| store.err("GetKeyPolicy", target, &e))?;
    let live: Option<Value> = live.policy().and_then(|p| serde_json::from_str(p).ok());
    if live.as_ref() != Some(wanted) {
        client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(wanted.to_string())
            .send()
            .await
            .map_err(|e| store.err("PutKeyPolicy", target, &e))?;
    }
    Ok(())
}

/// The Reason for a change KMS refuses on a key that stays disabled.
fn refused_while_disabled(store: &KeyStore, what: &str) -> ResourceError {
    store.refused(format!(
        "{what} cannot change while the key stays disabled (Enabled: false): KMS refuses it on a \
         disabled key; set Enabled: true in the same update, or make this change before disabling it"
    ))
}

async fn reconcile_rotation(
    store: &KeyStore,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
    disabled: bool,
) -> Result<(), ResourceError> {
    let status = store
        .kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_err(|e| store.err("GetKeyRotationStatus", key_id, &e))?;
    match new.rotation_period_days {
        Some(days) => {
            // Some KMS answers omit the period; then the old properties tell whether it moved.
            let period_differs = match status.rotation_period_in_days() {
                Some(live) => live != days,
                None => old.and_then(|o| o.rotation_period_days) != Some(days),
            };
            if !status.key_rotation_enabled() || period_differs {
                if disabled {
                    return Err(refused_while_disabled(store, "Key rotation"));
                }
                store
                    .kms
                    .enable_key_rotation()
                    .key_id(key_id)
                    .rotation_period_in_days(days)
                    .send()
                    .await
                    .map_err(|e| store.err("EnableKeyRotation", key_id, &e))?;
            }
        }
        None if status.key_rotation_enabled() => {
            if disabled {
                return Err(refused_while_disabled(store, "Key rotation"));
            }
            store
                .kms
                .disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| store.err("DisableKeyRotation", key_id, &e))?;
        }
        None => {}
    }
    Ok(())
}

async fn reconcile_aliases(
    store: &KeyStore,
    request: &Request,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
) -> Result<(), ResourceError> {
    let live = store.aliases_of(key_id).await?;
    for alias in new.aliases.iter().filter(|a| !live.contains(a)) {
        let holder = store.alias_holder(request, alias).await?;
        store.point_alias(alias, key_id, &holder).await?;
    }
    let dropped = live
        .iter()
        .filter(|a| !new.aliases.contains(a))
        .filter(|a| old.is_some_and(|o| o.aliases.contains(a)));
    for alias in dropped {
        store
            .kms
            .delete_alias()
            .alias_name(alias)
            .send()
            .await
            .map_err(|e| store.err("DeleteAlias", alias, &e))?;
    }
    Ok(())
}

async fn reconcile_grants(
    store: &KeyStore,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
    disabled: bool,
) -> Result<(), ResourceError> {
    let old_names: Vec<String> = old
        .map(|o| o.grants.iter().map(|g| g.name.clone()).collect())
        .unwrap_or_default();
    if new.grants.is_empty() && old_names.is_empty() {
        return Ok(());
    }
    let live = store.grants(key_id).await?;
    let plan = grants::plan(&new.grants, &live, &old_names);
    if disabled && !plan.create.is_empty() {
        return Err(refused_while_disabled(store, "Grants"));
    }
    for grant_id in &plan.revoke {
        store
            .kms
            .revoke_grant()
            .key_id(key_id)
            .grant_id(grant_id)
            .send()
            .await
            .map_err(|e| store.err("RevokeGrant", &format!("{key_id} grant {grant_id}"), &e))?;
    }
    for grant in &plan.create {
        store.create_grant(key_id, grant).await?;
    }
    Ok(())
}

async fn reconcile_tags(
    store: &KeyStore,
    key_id: &str,
    old: Option<&KeyProps>,
    new: &KeyProps,
) -> Result<(), ResourceError> {
    let live = store.tags(key_id).await?;
    let wanted = wanted_tags(new);
    let derived: Vec<&str> = [
        crate::key::TAG_ROTATION_PERIOD,
        crate::key::TAG_ROTATE_EVERY,
    ]
    .into();
    // Our derived tags are always ours to remove; user tags only when the old properties had them.
    let removed: Vec<String> = live
        .keys()
        .filter(|k| !wanted.iter().any(|(w, _)| w == *k))
        .filter(|k| {
            derived.contains(&k.as_str())
                || (!k.starts_with(TAG_PREFIX)
                    && old.is_some_and(|o| o.tags.iter().any(|t| &t.key == *k)))
        })
        .cloned()
        .collect();
    if !removed.is_empty() {
        store
            .kms
            .untag_resource()
            .key_id(key_id)
            .set_tag_keys(Some(removed))
            .send()
            .await
            .map_err(|e| store.err("UntagResource", key_id, &e))?;
    }
    let changed: Vec<(String, String)> = wanted
        .into_iter()
        .filter(|(k, v)| live.get(k) != Some(v))
        .collect();
    store.tag(key_id, &changed).await
}
