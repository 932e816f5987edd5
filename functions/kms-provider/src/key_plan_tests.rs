use super::*;
use crate::grants::Constraint;
use serde_json::json;
use shared::cfn::decode_properties;

fn ctx() -> KeyContext {
    KeyContext {
        partition: "aws".to_owned(),
        region: "us-east-1".to_owned(),
        account: "123456789012".to_owned(),
    }
}

fn props(properties: Value) -> KeyProps {
    decode_properties::<crate::KmsKeys>(&properties).expect("valid properties")
}

/// The key exactly as `props` would leave it, with the owner records KMS keeps beside.
fn in_step(props: &KeyProps) -> LiveKey {
    let mut tags: BTreeMap<String, String> = wanted_tags(props).into_iter().collect();
    tags.insert("stackhand:stack-id".to_owned(), "arn:stack".to_owned());
    LiveKey {
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
        arn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            .to_owned(),
        description: props.description.clone(),
        state: if props.enabled {
            LiveState::Enabled
        } else {
            LiveState::Disabled
        },
        key_spec: props.key_spec.to_owned(),
        key_usage: props.key_usage.to_owned(),
        multi_region: props.multi_region,
        policy: Some(policy_document(props, &ctx())),
        rotation: Some(LiveRotation {
            enabled: props.rotation_period_days.is_some(),
            period_days: props.rotation_period_days,
        }),
        aliases: props.aliases.clone(),
        grants: props
            .grants
            .iter()
            .enumerate()
            .map(|(i, spec)| LiveGrant {
                id: format!("grant-{i}"),
                spec: spec.clone(),
            })
            .collect(),
        tags,
        replicas: props
            .replica_regions
            .iter()
            .map(|region| LiveReplica {
                region: region.clone(),
                arn: format!("arn:aws:kms:{region}:123456789012:key/mrk-1"),
                description: props.description.clone(),
                state: LiveState::Enabled,
                policy: Some(policy_document(props, &in_region(&ctx(), region))),
            })
            .collect(),
    }
}

fn steps(plan: &Plan<KeyStep>) -> Vec<KeyStep> {
    plan.changes.iter().map(|c| c.step.clone()).collect()
}

fn full() -> KeyProps {
    props(json!({
        "Environment": "qa", "Description": "orders", "Aliases": ["orders"],
        "MultiRegion": true, "ReplicaRegions": ["eu-west-1"],
        "KeyUsers": ["arn:aws:iam::123456789012:role/app"], "ViaServices": ["rds"],
        "Grants": [{"Name": "app", "GranteePrincipal": "arn:aws:iam::123456789012:role/app",
                    "Operations": ["Decrypt"]}],
        "Tags": [{"Key": "team", "Value": "orders"}]
    }))
}

#[test]
fn a_key_in_step_with_its_properties_plans_nothing() {
    let new = full();
    let plan = plan(Some(&in_step(&new)), Some(&new), &new, &ctx()).expect("a plan");
    assert!(plan.is_empty(), "{:?}", plan.properties());
}

#[test]
fn no_key_at_all_is_a_replacement() {
    let plan = plan(None, None, &full(), &ctx()).expect("a plan");
    assert_eq!(steps(&plan), [KeyStep::Replace]);
    assert_eq!(plan.changes[0].property, "KeyId");
}

#[test]
fn spec_usage_and_multi_region_replace_and_nothing_else_is_planned() {
    let new = full();
    let mut live = in_step(&new);
    live.key_spec = "RSA_2048".to_owned();
    live.description = "edited".to_owned();
    let plan = plan(Some(&live), None, &new, &ctx()).expect("a plan");
    assert_eq!(steps(&plan), [KeyStep::Replace]);
    assert_eq!(plan.properties(), ["KeySpec"]);

    let mut live = in_step(&new);
    live.multi_region = false;
    let plan = super::plan(Some(&live), None, &new, &ctx()).expect("a plan");
    assert_eq!(plan.properties(), ["MultiRegion"]);
}

#[test]
fn rotation_turned_off_by_hand_is_turned_back_on_with_its_period() {
    let new = full();
    let mut live = in_step(&new);
    live.rotation = Some(LiveRotation {
        enabled: false,
        period_days: None,
    });
    let plan = plan(Some(&live), Some(&new), &new, &ctx()).expect("a plan");
    assert_eq!(steps(&plan), [KeyStep::EnableRotation(365)]);
    let change = &plan.changes[0];
    assert_eq!(
        (
            change.property,
            change.live.as_str(),
            change.desired.as_str()
        ),
        ("RotationPeriodInDays", "(none)", "365")
    );
}

#[test]
fn a_missing_rotation_period_is_judged_by_the_old_properties() {
    let new = full();
    let mut live = in_step(&new);
    live.rotation = Some(LiveRotation {
        enabled: true,
        period_days: None,
    });
    assert!(
        plan(Some(&live), Some(&new), &new, &ctx())
            .expect("a plan")
            .is_empty()
    );
    let mut longer = new.clone();
    longer.rotation_period_days = Some(400);
    let plan = plan(Some(&live), Some(&new), &longer, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::EnableRotation(400),
            KeyStep::Retag(
                vec![],
                vec![(TAG_ROTATION_PERIOD.to_owned(), "400".to_owned())]
            )
        ]
    );
}

#[test]
fn a_policy_reordered_by_kms_is_in_step_and_an_edited_one_is_put_back() {
    let new = props(json!({"Environment": "dev", "KeyPolicy": {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Root", "Effect": "Allow",
                       "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                       "Action": "kms:*", "Resource": "*"}]}}));
    let mut live = in_step(&new);
    let reordered: Value = serde_json::from_str(
        r#"{"Statement":[{"Resource":"*","Action":"kms:*","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Effect":"Allow","Sid":"Root"}],"Version":"2012-10-17"}"#,
    )
    .expect("json");
    live.policy = Some(reordered);
    assert!(
        plan(Some(&live), Some(&new), &new, &ctx())
            .expect("a plan")
            .is_empty()
    );
    live.policy = Some(json!({"Version": "2012-10-17", "Statement": []}));
    let plan = plan(Some(&live), Some(&new), &new, &ctx()).expect("a plan");
    assert_eq!(steps(&plan), [KeyStep::Policy]);
    assert!(plan.changes[0].desired.contains("Root"));
}

#[test]
fn aliases_the_old_properties_had_are_removed_and_hand_made_ones_stay() {
    let old = full();
    let mut new = old.clone();
    new.aliases = vec!["alias/orders-v2".to_owned()];
    let mut live = in_step(&old);
    live.aliases.push("alias/by-hand".to_owned());
    let plan = plan(Some(&live), Some(&old), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::PointAlias("alias/orders-v2".to_owned()),
            KeyStep::DeleteAlias("alias/orders".to_owned())
        ]
    );
    // Without old properties (adoption), nothing is removed.
    let adopted = super::plan(Some(&live), None, &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&adopted),
        [KeyStep::PointAlias("alias/orders-v2".to_owned())]
    );
}

#[test]
fn a_changed_grant_is_revoked_and_made_again() {
    let old = full();
    let mut new = old.clone();
    new.grants[0].constraint =
        Constraint::Subset(BTreeMap::from([("app".to_owned(), "orders".to_owned())]));
    let plan = plan(Some(&in_step(&old)), Some(&old), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::RevokeGrant("grant-0".to_owned()),
            KeyStep::CreateGrant(new.grants[0].clone())
        ]
    );
    assert_eq!(plan.changes[0].live, "app");
}

#[test]
fn user_tags_are_removed_only_when_the_old_properties_had_them() {
    let old = full();
    let mut new = old.clone();
    new.tags.clear();
    let mut live = in_step(&old);
    live.tags.insert("cost-centre".to_owned(), "42".to_owned());
    let plan = plan(Some(&live), Some(&old), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [KeyStep::Retag(vec!["team".to_owned()], vec![])]
    );

    // A derived tag edited by hand is put back; tag order never matters.
    let mut live = in_step(&old);
    live.tags
        .insert(TAG_ROTATION_PERIOD.to_owned(), "off".to_owned());
    let plan = super::plan(Some(&live), Some(&old), &old, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [KeyStep::Retag(
            vec![],
            vec![(TAG_ROTATION_PERIOD.to_owned(), "365".to_owned())]
        )]
    );
}

#[test]
fn a_key_pending_deletion_is_cancelled_then_enabled_first() {
    let new = full();
    let mut live = in_step(&new);
    live.state = LiveState::Gone;
    live.description = "edited".to_owned();
    let plan = plan(Some(&live), Some(&new), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::CancelDeletion,
            KeyStep::Description,
            KeyStep::Enable
        ]
    );
}

#[test]
fn a_key_that_stays_disabled_refuses_what_kms_refuses_on_it() {
    let mut new = full();
    new.enabled = false;
    let mut live = in_step(&new);
    live.rotation = Some(LiveRotation {
        enabled: false,
        period_days: None,
    });
    let refused = plan(Some(&live), Some(&new), &new, &ctx()).expect_err("refused");
    assert!(
        refused.starts_with("Key rotation cannot change"),
        "{refused}"
    );

    let mut live = in_step(&new);
    live.grants.clear();
    let refused = plan(Some(&live), Some(&new), &new, &ctx()).expect_err("refused");
    assert!(refused.starts_with("Grants cannot change"), "{refused}");
}

#[test]
fn disabling_comes_last_and_reaches_every_replica() {
    let old = full();
    let mut new = old.clone();
    new.enabled = false;
    new.description = "orders, retired".to_owned();
    let plan = plan(Some(&in_step(&old)), Some(&old), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::Description,
            KeyStep::ReplicaDescription("eu-west-1".to_owned()),
            KeyStep::ReplicaEnabled("eu-west-1".to_owned(), false),
            KeyStep::Disable
        ]
    );
}

#[test]
fn replicas_follow_the_regions_and_their_own_policies() {
    let old = full();
    let mut new = old.clone();
    new.replica_regions = vec!["ap-southeast-2".to_owned()];
    let mut live = in_step(&old);
    let plan = plan(Some(&live), Some(&old), &new, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [
            KeyStep::AddReplica("ap-southeast-2".to_owned()),
            KeyStep::RetireReplica("eu-west-1".to_owned())
        ]
    );
    // A replica's policy is its Region's: the primary's is drift there.
    live.replicas[0].policy = Some(policy_document(&old, &ctx()));
    let plan = super::plan(Some(&live), Some(&old), &old, &ctx()).expect("a plan");
    assert_eq!(
        steps(&plan),
        [KeyStep::ReplicaPolicy("eu-west-1".to_owned())]
    );
}

#[test]
fn a_replica_in_the_primarys_region_is_refused() {
    let mut new = full();
    new.replica_regions = vec!["us-east-1".to_owned()];
    let refused = plan(Some(&in_step(&full())), None, &new, &ctx()).expect_err("refused");
    assert!(
        refused.contains("ReplicaRegions must not include us-east-1"),
        "{refused}"
    );
}
