//! Delete rules: a key is retained (uat, prod) or scheduled for deletion with its pending
//! window, never deleted at once; only a key this stack's logical resource made; after a failed
//! replacement, its aliases go back to the key it replaced.

use crate::key::KeyProps;
use crate::store::{KeyStore, is_gone, replica_arns};
use aws_smithy_types::date_time::Format as DateTimeFormat;
use shared::ResourceError;
use shared::cfn::{Claim, Request, TAG_RETAINED_AT, stricter_environment};

use crate::lifecycle::TAG_REPLACES;

fn today() -> String {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    now.get(..10).unwrap_or(&now).to_owned()
}

/// Retains the key (tagged, left enabled) or schedules its deletion with the pending window,
/// replicas first. A key already gone or pending deletion is a success; so is a key this
/// stack's logical resource did not make, which is left alone. The rules are at least those
/// of the environment the key was made for.
pub async fn delete(
    store: &KeyStore,
    request: &Request,
    key_id: &str,
    props: &KeyProps,
) -> Result<(), ResourceError> {
    let Some(live) = store.describe(key_id).await? else {
        tracing::info!(key_id, "already gone");
        return Ok(());
    };
    if is_gone(live.key_state()) {
        tracing::info!(key_id, "already pending deletion");
        return Ok(());
    }
    let tags = store.tags(key_id).await?;
    let claim = Claim::of(&tags, request);
    if !claim.is_ours() {
        claim.log_left_alone(store.resource_type, key_id);
        return Ok(());
    }
    let (retain, window) = match stricter_environment(claim.made_for(), props.environment) {
        Some(made_for) => {
            let profile = made_for.profile();
            tracing::warn!(key_id, made_for = %made_for, asked = %props.environment, "made for a stricter environment; keeping its deletion rules");
            (
                props.retain_on_delete || profile.retain_on_delete,
                props
                    .pending_window_days
                    .max(profile.kms_pending_window_days),
            )
        }
        None => (props.retain_on_delete, props.pending_window_days),
    };
    if retain {
        store
            .tag(key_id, &[(TAG_RETAINED_AT.to_owned(), today())])
            .await?;
        tracing::info!(key_id, environment = %props.environment, "retained on Delete; the key stays usable");
        return Ok(());
    }
    let replaced = match tags.get(TAG_REPLACES) {
        Some(old_key) => replaced_key_to_restore(store, request, old_key).await?,
        None => None,
    };
    // Aliases would keep pointing at a key pending deletion, blocking their reuse; after a
    // failed replacement they go back to the key it replaced.
    for alias in store.aliases_of(key_id).await? {
        match &replaced {
            Some(old_key) => {
                tracing::info!(alias, old_key, "giving the alias back to the replaced key");
                store.move_alias(&alias, old_key).await?;
            }
            None => store.delete_alias(&alias).await?,
        }
    }
    for (region, _) in replica_arns(&live) {
        store
            .schedule_deletion(key_id, Some(&region), window)
            .await?;
    }
    store.schedule_deletion(key_id, None, window).await?;
    tracing::info!(key_id, days = window, "deletion scheduled");
    Ok(())
}

/// The key `old_key` that this key replaced, when it is still live, of the same logical
/// resource and not retained: the Delete is a rollback of that replacement, and the stack goes
/// back to using it.
async fn replaced_key_to_restore(
    store: &KeyStore,
    request: &Request,
    old_key: &str,
) -> Result<Option<String>, ResourceError> {
    let Some(old) = store.describe(old_key).await? else {
        return Ok(None);
    };
    if is_gone(old.key_state()) {
        return Ok(None);
    }
    let tags = store.tags(old_key).await?;
    let restorable = Claim::of(&tags, request).is_ours() && !tags.contains_key(TAG_RETAINED_AT);
    Ok(restorable.then(|| old_key.to_owned()))
}
