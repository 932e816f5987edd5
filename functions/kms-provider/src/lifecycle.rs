//! One key's lifecycle, shared by `Custom::KmsKey` and each key of a `Custom::KmsKeySet`:
//! create (or adopt what an earlier delivery of the same request made), bring to the wanted
//! state, and delete by the environment's rules. Keys are never deleted immediately.

use crate::grants;
use crate::key::KeyProps;
use crate::policy::{self, KeyContext, KeyPolicy, MAX_POLICY_BYTES};
use crate::spec::{can_rotate, user_actions_for};
use crate::store::{AliasHolder, KeyStore, is_gone, kms_tags};
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType};
use aws_smithy_types::date_time::Format as DateTimeFormat;
use serde_json::Value;
use shared::ResourceError;
use shared::cfn::{Claim, Request, TAG_PREFIX, TAG_RETAINED_AT, stricter_environment};

/// On a key made to replace another: that key's id. A rollback's Delete of the new key gives
/// the aliases back to it instead of deleting them.
pub const TAG_REPLACES: &str = "stackhand:replaces";

/// What a Create or Update leaves behind, for the attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOutcome {
    pub key_id: String,
    pub arn: String,
    pub aliases: Vec<String>,
    pub rotation_enabled: bool,
    pub replica_arns: Vec<String>,
}

pub fn context(store: &KeyStore, request: &Request) -> Result<KeyContext, ResourceError> {
    KeyContext::from_stack_id(&request.stack_id).ok_or_else(|| {
        store.refused(format!(
            "StackId {} is not a CloudFormation stack ARN, so the key's account is unknown",
            request.stack_id
        ))
    })
}

pub fn policy_document(props: &KeyProps, ctx: &KeyContext) -> Value {
    match &props.policy {
        KeyPolicy::Document(doc) => doc.clone(),
        KeyPolicy::Personas(personas) => policy::synthesize(
            ctx,
            personas,
            &user_actions_for(props.key_spec, props.key_usage),
        ),
    }
}

/// The policy to send, refused before any call when KMS would refuse it for its size (a
/// `KeyPolicy` document is checked when it is decoded; a synthesized one only here, where the
/// stack's account is known).
fn checked_policy(
    store: &KeyStore,
    props: &KeyProps,
    ctx: &KeyContext,
) -> Result<Value, ResourceError> {
    let policy = policy_document(props, ctx);
    let bytes = policy.to_string().len();
    if bytes > MAX_POLICY_BYTES {
        return Err(store.refused(format!(
            "the key policy built from KeyAdministrators, KeyUsers, ServicePrincipals and \
             ViaServices is {bytes} bytes; KMS accepts at most {MAX_POLICY_BYTES}: name fewer \
             principals (an IAM role per group of users), or give a KeyPolicy"
        )));
    }
    Ok(policy)
}

/// User tags plus the tags derived from properties; the request tags are added on Create only.
fn wanted_tags(props: &KeyProps) -> Vec<(String, String)> {
    props
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .chain(
            props
                .derived_tags()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        )
        .collect()
}

fn check_regions(
    store: &KeyStore,
    props: &KeyProps,
    ctx: &KeyContext,
) -> Result<(), ResourceError> {
    if props.replica_regions.contains(&ctx.region) {
        return Err(store.refused(format!(
            "ReplicaRegions must not include {}, the primary key's own Region",
            ctx.region
        )));
    }
    Ok(())
}

/// Creates the key, or adopts the one an earlier delivery of this request made. Every alias is
/// checked before CreateKey, so a taken alias fails the request without leaving a key behind.
/// `replaces` is the key an Update replaces, recorded on the new one.
pub async fn create(
    store: &KeyStore,
    request: &Request,
    props: &KeyProps,
    replaces: Option<&str>,
) -> Result<KeyOutcome, ResourceError> {
    let ctx = context(store, request)?;
    check_regions(store, props, &ctx)?;
    store.check_account(&ctx.account).await?;
    let policy = checked_policy(store, props, &ctx)?;
    let mut holders = Vec::with_capacity(props.aliases.len());
    for alias in &props.aliases {
        let holder = store.alias_holder(request, alias).await?;
        if let AliasHolder::ThisRequest(key_id) = &holder {
            tracing::info!(
                key_id,
                "adopting the key an earlier delivery of this request created"
            );
            return reconcile(store, request, key_id, None, props).await;
        }
        if let AliasHolder::Other { key_id, why } = &holder {
            return Err(store.alias_taken(alias, key_id, why));
        }
        holders.push(holder);
    }
    let found = if props.aliases.is_empty() {
        store.find_by_request_tag(request).await?
    } else {
        None
    };
    if let Some(key_id) = found {
        tracing::info!(
            key_id,
            "adopting the key an earlier delivery of this request created"
        );
        return reconcile(store, request, &key_id, None, props).await;
    }

    let mut tags = wanted_tags(props);
    tags.extend(request.resource_tags(&[], props.environment));
    if let Some(old_key) = replaces {
        tags.push((TAG_REPLACES.to_owned(), old_key.to_owned()));
    }
    let created = store
        .kms
        .create_key()
        .description(&props.description)
        .key_spec(KeySpec::from(props.key_spec))
        .key_usage(KeyUsageType::from(props.key_usage))
        .multi_region(props.multi_region)
        .policy(policy.to_string())
        .set_tags(Some(kms_tags(&tags)))
        .send()
        .await
        .map_err(|e| store.err("CreateKey", &request.logical_resource_id, &e))?;
    let metadata = created
        .key_metadata
        .ok_or_else(|| store.refused("CreateKey returned no key metadata"))?;
    let key_id = metadata.key_id().to_owned();
    tracing::info!(key_id, "created");

    if let Some(days) = props.rotation_period_days {
        store
            .kms
            .enable_key_rotation()
            .key_id(&key_id)
            .rotation_period_in_days(days)
            .send()
            .await
            .map_err(|e| store.err("EnableKeyRotation", &key_id, &e))?;
    }
    for (alias, holder) in props.aliases.iter().zip(&holders) {
        store.point_alias(alias, &key_id, holder).await?;
    }
    for grant in &props.grants {
        store.create_grant(&key_id, grant).await?;
    }
    let mut replica_arns = Vec::new();
    for region in &props.replica_regions {
        replica_arns.push(replicate(store, &key_id, region, props, &ctx, &tags).await?);
    }
    if !props.enabled {
        disable(store, &key_id).await?;
        // Replicas are enabled on their own; a disabled key is disabled in every Region.
        for region in &props.replica_regions {
            store
                .in_region(region)
                .disable_key()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|e| store.err("DisableKey", &format!("{key_id} in {region}"), &e))?;
        }
    }
    Ok(KeyOutcome {
        arn: metadata.arn().unwrap_or_default().to_owned(),
        key_id,
        aliases: props.aliases.clone(),
        rotation_enabled: props.rotation_period_days.is_some(),
        replica_arns,
    })
}

/// The context a replica's policy is built with: its own Region (`kms:ViaService` names
/// `rds.<replica-region>`, not the primary's).
fn in_region(ctx: &KeyContext, region: &str) -> KeyContext {
    KeyContext {
        region: region.to_owned(),
        ..ctx.clone()
    }
}

async fn replicate(
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

async fn disable(store: &KeyStore, key_id: &str) -> Result<(), ResourceError> {
    store
        .kms
        .disable_key()
        .key_id(key_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| store.err("DisableKey", key_id, &e))
}

fn replica_arns(metadata: &KeyMetadata) -> Vec<(String, String)> {
    metadata
        .multi_region_configuration()
        .map(|c| c.replica_keys())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r.region.clone()?, r.arn.clone()?)))
        .collect()
}

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
        store
            .kms
            .enable_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| store.err("EnableKey", key_id, &e))?;
    }
    let stays_disabled = disabled && !new.enabled;
    reconcile_policy(store, key_id, &checked_policy(store, new, &ctx)?).await?;
    if can_rotate(new.key_spec) {
        reconcile_rotation(store, key_id, old, new, stays_disabled).await?;
    }
    reconcile_aliases(store, request, key_id, old, new).await?;
    reconcile_grants(store, key_id, old, new, stays_disabled).await?;
    reconcile_tags(store, key_id, old, new).await?;
    let replica_arns = reconcile_replicas(store, key_id, &live, old, new, &ctx).await?;
    if live.key_state() == Some(&KeyState::Enabled) && !new.enabled {
        disable(store, key_id).await?;
    }
    Ok(KeyOutcome {
        key_id: key_id.to_owned(),
        arn: live.arn().unwrap_or_default().to_owned(),
        aliases: new.aliases.clone(),
        rotation_enabled: new.rotation_period_days.is_some(),
        replica_arns,
    })
}

async fn reconcile_policy(
    store: &KeyStore,
    key_id: &str,
    wanted: &Value,
) -> Result<(), ResourceError> {
    let live = store
        .kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| store.err("GetKeyPolicy", key_id, &e))?;
    let live: Option<Value> = live.policy().and_then(|p| serde_json::from_str(p).ok());
    if live.as_ref() != Some(wanted) {
        store
            .kms
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(wanted.to_string())
            .send()
            .await
            .map_err(|e| store.err("PutKeyPolicy", key_id, &e))?;
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

/// Adds the wanted replicas and removes the ones the old properties had and the new lack,
/// following the delete rules. Returns the replica ARNs.
async fn reconcile_replicas(
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
    let policy = client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| store.err("GetKeyPolicy", &target, &e))?;
    let current: Option<Value> = policy.policy().and_then(|p| serde_json::from_str(p).ok());
    if current.as_ref() != Some(&wanted) {
        client
            .put_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .policy(wanted.to_string())
            .send()
            .await
            .map_err(|e| store.err("PutKeyPolicy", &target, &e))?;
    }
    match (live.key_state(), props.enabled) {
        (Some(KeyState::Disabled), true) => {
            client
                .enable_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| store.err("EnableKey", &target, &e))?;
        }
        (Some(KeyState::Enabled), false) => {
            client
                .disable_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| store.err("DisableKey", &target, &e))?;
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
                store
                    .kms
                    .update_alias()
                    .alias_name(&alias)
                    .target_key_id(old_key)
                    .send()
                    .await
                    .map_err(|e| store.err("UpdateAlias", &alias, &e))?;
            }
            None => {
                store
                    .kms
                    .delete_alias()
                    .alias_name(&alias)
                    .send()
                    .await
                    .map_err(|e| store.err("DeleteAlias", &alias, &e))?;
            }
        }
    }
    for (region, _) in replica_arns(&live) {
        let client = store.in_region(&region);
        store.schedule_deletion(&client, key_id, window).await?;
    }
    store.schedule_deletion(&store.kms, key_id, window).await?;
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
