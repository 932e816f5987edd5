//! One key's lifecycle, shared by `Custom::KmsKey` and each key of a `Custom::KmsKeySet`:
//! create (or adopt what an earlier delivery of the same request made) here; plan an Update in
//! `key_plan.rs` and perform it in `apply.rs`; delete by the environment's rules in `retire.rs`. Keys are never deleted immediately.

use crate::apply::bring_in_step;
use crate::key::KeyProps;
use crate::key_plan::{check_regions, in_region, sized_policy};
use crate::policy::{self, KeyContext, KeyPolicy};
use crate::spec::user_actions_for;
use crate::store::{AliasHolder, KeyStore, NewKey};
use serde_json::Value;
use shared::ResourceError;
use shared::cfn::Request;

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

/// User tags plus the tags derived from properties; the request tags are added on Create only.
pub(crate) fn wanted_tags(props: &KeyProps) -> Vec<(String, String)> {
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
    check_regions(props, &ctx).map_err(|m| store.refused(m))?;
    store.check_account(&ctx.account).await?;
    let policy = sized_policy(props, &ctx).map_err(|m| store.refused(m))?;
    // Replica policies are built for their own Region; each is checked before any call.
    let replica_policies = props
        .replica_regions
        .iter()
        .map(|region| sized_policy(props, &in_region(&ctx, region)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| store.refused(m))?;
    let mut holders = Vec::with_capacity(props.aliases.len());
    for alias in &props.aliases {
        let holder = store.alias_holder(request, alias).await?;
        if let AliasHolder::ThisRequest(key_id) = &holder {
            tracing::info!(
                key_id,
                "adopting the key an earlier delivery of this request created"
            );
            return bring_in_step(store, request, key_id, None, props).await;
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
        return bring_in_step(store, request, &key_id, None, props).await;
    }

    let mut tags = wanted_tags(props);
    tags.extend(request.resource_tags(&[], props.environment));
    if let Some(old_key) = replaces {
        tags.push((TAG_REPLACES.to_owned(), old_key.to_owned()));
    }
    let new_key = NewKey {
        description: &props.description,
        key_spec: props.key_spec,
        key_usage: props.key_usage,
        multi_region: props.multi_region,
        policy: &policy,
        tags: &tags,
    };
    let metadata = store
        .create_key(&new_key, &request.logical_resource_id)
        .await?;
    let key_id = metadata.key_id().to_owned();
    tracing::info!(key_id, "created");

    if let Some(days) = props.rotation_period_days {
        store.enable_rotation(&key_id, days).await?;
    }
    for (alias, holder) in props.aliases.iter().zip(&holders) {
        store.point_alias(alias, &key_id, holder).await?;
    }
    for grant in &props.grants {
        store.create_grant(&key_id, grant).await?;
    }
    let mut replica_arns = Vec::new();
    for (region, policy) in props.replica_regions.iter().zip(&replica_policies) {
        let arn = store
            .replicate(&key_id, region, &props.description, policy, &tags)
            .await?;
        replica_arns.push(arn);
    }
    if !props.enabled {
        // Replicas are enabled on their own; a disabled key is disabled in every Region.
        store.set_enabled(&key_id, None, false).await?;
        for region in &props.replica_regions {
            store.set_enabled(&key_id, Some(region), false).await?;
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
