//! What an Update of a key would change: the live key as KMS describes it, against its
//! properties. The one place that decides replacement (KeySpec, KeyUsage, MultiRegion, or no
//! key at all) and the order KMS accepts on a disabled key: enable first, disable last.
//! Pure: `apply.rs` performs a plan, drift detection reads it.

use crate::grants::{self, GrantSpec, LiveGrant};
use crate::key::{KeyProps, TAG_ROTATE_EVERY, TAG_ROTATION_PERIOD};
use crate::lifecycle::{policy_document, wanted_tags};
use crate::policy::{KeyContext, MAX_POLICY_BYTES};
use crate::spec::can_rotate;
use serde_json::Value;
use shared::cfn::TAG_PREFIX;
use shared::key_policy::same_policy;
use shared::plan::{Plan, retag, shown};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveState {
    Enabled,
    Disabled,
    /// Pending deletion (or, for a replica, pending replica deletion).
    Gone,
    Other,
}

impl LiveState {
    fn shown(self) -> &'static str {
        match self {
            LiveState::Enabled => "Enabled",
            LiveState::Disabled => "Disabled",
            LiveState::Gone => "PendingDeletion",
            LiveState::Other => "Unavailable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRotation {
    pub enabled: bool,
    /// Some KMS answers omit it.
    pub period_days: Option<i32>,
}

/// A replica in another Region: its own description, policy and enabled state.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveReplica {
    pub region: String,
    pub arn: String,
    pub description: String,
    pub state: LiveState,
    pub policy: Option<Value>,
}

/// A key as KMS describes it, read in full by `KeyStore::read`.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveKey {
    pub key_id: String,
    pub arn: String,
    pub description: String,
    pub state: LiveState,
    pub key_spec: String,
    pub key_usage: String,
    pub multi_region: bool,
    pub policy: Option<Value>,
    /// `None` when the key's spec cannot rotate (KMS will not say).
    pub rotation: Option<LiveRotation>,
    pub aliases: Vec<String>,
    pub grants: Vec<LiveGrant>,
    pub tags: BTreeMap<String, String>,
    pub replicas: Vec<LiveReplica>,
}

/// One call (or a few, for a new key) that brings a property in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStep {
    /// A new key; the old one is handled by CloudFormation's later Delete.
    Replace,
    CancelDeletion,
    Description,
    Enable,
    Policy,
    EnableRotation(i32),
    DisableRotation,
    PointAlias(String),
    DeleteAlias(String),
    RevokeGrant(String),
    CreateGrant(GrantSpec),
    /// Tag keys to remove, pairs to set.
    Retag(Vec<String>, Vec<(String, String)>),
    AddReplica(String),
    ReplicaDescription(String),
    ReplicaPolicy(String),
    ReplicaEnabled(String, bool),
    RetireReplica(String),
    Disable,
}

/// The context a replica's policy is built with: its own Region (`kms:ViaService` names
/// `rds.<replica-region>`, not the primary's).
pub fn in_region(ctx: &KeyContext, region: &str) -> KeyContext {
    KeyContext {
        region: region.to_owned(),
        ..ctx.clone()
    }
}

/// The policy to send, refused when KMS would refuse it for its size (a `KeyPolicy` document
/// is checked when decoded; a synthesized one only here, where the stack's account is known).
pub fn sized_policy(props: &KeyProps, ctx: &KeyContext) -> Result<Value, String> {
    let policy = policy_document(props, ctx);
    let bytes = policy.to_string().len();
    if bytes > MAX_POLICY_BYTES {
        return Err(format!(
            "the key policy built from KeyAdministrators, KeyUsers, ServicePrincipals and \
             ViaServices is {bytes} bytes; KMS accepts at most {MAX_POLICY_BYTES}: name fewer \
             principals (an IAM role per group of users), or give a KeyPolicy"
        ));
    }
    Ok(policy)
}

pub fn check_regions(props: &KeyProps, ctx: &KeyContext) -> Result<(), String> {
    if props.replica_regions.contains(&ctx.region) {
        return Err(format!(
            "ReplicaRegions must not include {}, the primary key's own Region",
            ctx.region
        ));
    }
    Ok(())
}

fn refused_while_disabled(what: &str) -> String {
    format!(
        "{what} cannot change while the key stays disabled (Enabled: false): KMS refuses it on a \
         disabled key; set Enabled: true in the same update, or make this change before disabling it"
    )
}

fn shown_policy(policy: Option<&Value>) -> String {
    policy.map_or_else(|| shown(None), Value::to_string)
}

/// What bringing `live` to `new` takes. `old` is absent on adoption, or when the old properties
/// no longer decode: then nothing the user may have added outside CloudFormation is removed.
/// `Err` is a change KMS would refuse, in the user's words.
pub fn plan(
    live: Option<&LiveKey>,
    old: Option<&KeyProps>,
    new: &KeyProps,
    ctx: &KeyContext,
) -> Result<Plan<KeyStep>, String> {
    let mut plan = Plan::new();
    let Some(live) = live else {
        plan.compare("KeyId", shown(None), "a new key", KeyStep::Replace);
        return Ok(plan);
    };
    plan.compare("KeySpec", &live.key_spec, new.key_spec, KeyStep::Replace);
    plan.compare("KeyUsage", &live.key_usage, new.key_usage, KeyStep::Replace);
    plan.compare(
        "MultiRegion",
        live.multi_region.to_string(),
        new.multi_region.to_string(),
        KeyStep::Replace,
    );
    if plan.needs(&KeyStep::Replace) {
        return Ok(plan);
    }
    check_regions(new, ctx)?;
    let wanted_state = if new.enabled { "Enabled" } else { "Disabled" };
    if live.state == LiveState::Gone {
        // Deletion scheduled outside CloudFormation: the stack still wants this key.
        plan.compare(
            "KeyState",
            live.state.shown(),
            wanted_state,
            KeyStep::CancelDeletion,
        );
    }
    plan.compare(
        "Description",
        &live.description,
        &new.description,
        KeyStep::Description,
    );
    // A cancelled deletion leaves the key disabled.
    let disabled = matches!(live.state, LiveState::Disabled | LiveState::Gone);
    if disabled && new.enabled {
        plan.compare("Enabled", "false", "true", KeyStep::Enable);
    }
    let stays_disabled = disabled && !new.enabled;
    let policy = sized_policy(new, ctx)?;
    if !live
        .policy
        .as_ref()
        .is_some_and(|p| same_policy(p, &policy))
    {
        plan.add(
            "KeyPolicy",
            shown_policy(live.policy.as_ref()),
            policy.to_string(),
            KeyStep::Policy,
        );
    }
    if can_rotate(new.key_spec) {
        plan_rotation(&mut plan, live, old, new, stays_disabled)?;
    }
    plan_aliases(&mut plan, live, old, new);
    plan_grants(&mut plan, live, old, new, stays_disabled)?;
    plan_tags(&mut plan, live, old, new);
    plan_replicas(&mut plan, live, old, new, ctx)?;
    if live.state == LiveState::Enabled && !new.enabled {
        plan.compare("Enabled", "true", "false", KeyStep::Disable);
    }
    Ok(plan)
}

fn plan_rotation(
    plan: &mut Plan<KeyStep>,
    live: &LiveKey,
    old: Option<&KeyProps>,
    new: &KeyProps,
    stays_disabled: bool,
) -> Result<(), String> {
    let rotation = live.rotation.clone().unwrap_or(LiveRotation {
        enabled: false,
        period_days: None,
    });
    let live_period = rotation.enabled.then(|| {
        rotation
            .period_days
            .map_or("on".to_owned(), |d| d.to_string())
    });
    match new.rotation_period_days {
        Some(days) => {
            // Without the live period, the old properties tell whether it moved.
            let period_differs = match rotation.period_days {
                Some(live) => live != days,
                None => old.and_then(|o| o.rotation_period_days) != Some(days),
            };
            if !rotation.enabled || period_differs {
                if stays_disabled {
                    return Err(refused_while_disabled("Key rotation"));
                }
                plan.compare(
                    "RotationPeriodInDays",
                    shown(live_period.as_deref()),
                    days.to_string(),
                    KeyStep::EnableRotation(days),
                );
            }
        }
        None if rotation.enabled => {
            if stays_disabled {
                return Err(refused_while_disabled("Key rotation"));
            }
            plan.compare(
                "EnableKeyRotation",
                "true",
                "false",
                KeyStep::DisableRotation,
            );
        }
        None => {}
    }
    Ok(())
}

/// New aliases are pointed at the key; a live alias is removed only when the old properties had
/// it (one added by hand stays).
fn plan_aliases(plan: &mut Plan<KeyStep>, live: &LiveKey, old: Option<&KeyProps>, new: &KeyProps) {
    for alias in new.aliases.iter().filter(|a| !live.aliases.contains(a)) {
        plan.compare(
            "Aliases",
            shown(None),
            alias,
            KeyStep::PointAlias(alias.clone()),
        );
    }
    let dropped = live
        .aliases
        .iter()
        .filter(|a| !new.aliases.contains(a))
        .filter(|a| old.is_some_and(|o| o.aliases.contains(a)));
    for alias in dropped {
        plan.compare(
            "Aliases",
            alias,
            shown(None),
            KeyStep::DeleteAlias(alias.clone()),
        );
    }
}

fn plan_grants(
    plan: &mut Plan<KeyStep>,
    live: &LiveKey,
    old: Option<&KeyProps>,
    new: &KeyProps,
    stays_disabled: bool,
) -> Result<(), String> {
    let old_names: Vec<String> = old
        .map(|o| o.grants.iter().map(|g| g.name.clone()).collect())
        .unwrap_or_default();
    let grants = grants::plan(&new.grants, &live.grants, &old_names);
    if stays_disabled && !grants.create.is_empty() {
        return Err(refused_while_disabled("Grants"));
    }
    for grant_id in grants.revoke {
        let name = live
            .grants
            .iter()
            .find(|g| g.id == grant_id)
            .map_or(grant_id.clone(), |g| g.spec.name.clone());
        plan.compare("Grants", name, shown(None), KeyStep::RevokeGrant(grant_id));
    }
    for grant in grants.create {
        plan.compare(
            "Grants",
            shown(None),
            grant.name.clone(),
            KeyStep::CreateGrant(grant),
        );
    }
    Ok(())
}

/// Our derived tags are always ours to remove; user tags only when the old properties had them.
fn plan_tags(plan: &mut Plan<KeyStep>, live: &LiveKey, old: Option<&KeyProps>, new: &KeyProps) {
    let derived = [TAG_ROTATION_PERIOD, TAG_ROTATE_EVERY];
    let removable = |k: &str| {
        derived.contains(&k)
            || (!k.starts_with(TAG_PREFIX)
                && old.is_some_and(|o| o.tags.iter().any(|t| t.key == k)))
    };
    plan.add_retag(
        retag(&live.tags, &wanted_tags(new), removable),
        KeyStep::Retag,
    );
}

/// Each replica follows the primary's description, policy (built for its own Region) and
/// enabled state; Regions the properties add are replicated, ones the old properties had and
/// the new lack are retired.
fn plan_replicas(
    plan: &mut Plan<KeyStep>,
    live: &LiveKey,
    old: Option<&KeyProps>,
    new: &KeyProps,
    ctx: &KeyContext,
) -> Result<(), String> {
    for region in &new.replica_regions {
        let policy = sized_policy(new, &in_region(ctx, region))?;
        let Some(replica) = live.replicas.iter().find(|r| &r.region == region) else {
            plan.compare(
                "ReplicaRegions",
                shown(None),
                region,
                KeyStep::AddReplica(region.clone()),
            );
            continue;
        };
        plan.compare(
            "Description",
            &replica.description,
            &new.description,
            KeyStep::ReplicaDescription(region.clone()),
        );
        if !replica
            .policy
            .as_ref()
            .is_some_and(|p| same_policy(p, &policy))
        {
            plan.add(
                "KeyPolicy",
                shown_policy(replica.policy.as_ref()),
                policy.to_string(),
                KeyStep::ReplicaPolicy(region.clone()),
            );
        }
        match (replica.state, new.enabled) {
            (LiveState::Disabled, true) | (LiveState::Enabled, false) => plan.compare(
                "Enabled",
                (!new.enabled).to_string(),
                new.enabled.to_string(),
                KeyStep::ReplicaEnabled(region.clone(), new.enabled),
            ),
            _ => {}
        }
    }
    let removed = live.replicas.iter().filter(|r| {
        !new.replica_regions.contains(&r.region)
            && old.is_some_and(|o| o.replica_regions.contains(&r.region))
    });
    for replica in removed {
        plan.compare(
            "ReplicaRegions",
            &replica.region,
            shown(None),
            KeyStep::RetireReplica(replica.region.clone()),
        );
    }
    Ok(())
}

#[cfg(test)]
#[path = "key_plan_tests.rs"]
mod tests;
