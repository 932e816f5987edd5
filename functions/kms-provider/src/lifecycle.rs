//! One key's lifecycle, shared by `Custom::KmsKey` and each key of a `Custom::KmsKeySet`:
//! create (or adopt what an earlier delivery of the same request made) here; bring to the
//! wanted state in `reconcile.rs`; replicas in `replicas.rs`; delete by the environment's rules
//! in `retire.rs`. Keys are never deleted immediately.

use crate::key::KeyProps;
use crate::policy::{self, KeyContext, KeyPolicy, MAX_POLICY_BYTES};
use crate::replicas::replicate;
use crate::spec::user_actions_for;
use crate::store::{AliasHolder, KeyStore, kms_tags};
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
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

/// The policy to send, refused before any call when KMS would refuse it for its size (a
/// `KeyPolicy` document is checked when it is decoded; a synthesized one only here, where the
/// stack's account is known).
pub(crate) fn checked_policy(
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

pub(crate) fn check_regions(
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
            return crate::reconcile::reconcile(store, request, key_id, None, props).await;
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
        return crate::reconcile::reconcile(store, request, &key_id, None, props).await;
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
        set_enabled(store, &store.kms, &key_id, &key_id, false).await?;
        // Replicas are enabled on their own; a disabled key is disabled in every Region.
        for region in &props.replica_regions {
            let target = format!("{key_id} in {region}");
            set_enabled(store, &store.in_region(region), &key_id, &target, false).await?;
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

/// Enables or disables the key through `client` (the primary's, or a replica Region's);
/// `target` names it in errors.
pub(crate) async fn set_enabled(
    store: &KeyStore,
    client: &aws_sdk_kms::Client,
    key_id: &str,
    target: &str,
    enabled: bool,
) -> Result<(), ResourceError> {
    if enabled {
        client
            .enable_key()
            .key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store.err("EnableKey", target, &e))
    } else {
        client
            .disable_key()
            .key_id(key_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store.err("DisableKey", target, &e))
    }
}
