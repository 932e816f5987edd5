use super::*;
use aws_sdk_kms::types::{
    KeyManagerType, KeySpec, MultiRegionConfiguration, MultiRegionKeyType, OriginType,
};
use serde_json::json;

const ACCOUNT: &str = "111122223333";

fn key() -> aws_sdk_kms::types::builders::KeyMetadataBuilder {
    KeyMetadata::builder()
        .key_id("k1")
        .arn("arn:aws:kms:us-east-1:111122223333:key/k1")
        .aws_account_id(ACCOUNT)
        .key_manager(KeyManagerType::Customer)
        .key_spec(KeySpec::SymmetricDefault)
        .origin(OriginType::AwsKms)
        .key_state(KeyState::Enabled)
        .multi_region(false)
}

fn root_only() -> Value {
    json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]})
}

fn facts(key: KeyMetadata) -> KeyFacts {
    let rotation_enabled = rotation_applies(&key).then_some(true);
    KeyFacts {
        key,
        rotation_enabled,
        policy: Some(root_only()),
        aliases: vec!["alias/good".to_owned()],
        tags: None,
    }
}

fn checks(facts: &KeyFacts, required: &[&str]) -> Vec<Check> {
    let required: Vec<String> = required.iter().map(|s| (*s).to_owned()).collect();
    judge(facts, &required)
        .into_iter()
        .map(|f| f.check)
        .collect()
}

#[test]
fn a_good_key_has_no_findings() {
    let good = facts(key().build().expect("key"));
    assert_eq!(checks(&good, &[]), []);
}

#[test]
fn rotation_off_is_found_only_where_kms_can_rotate() {
    let mut off = facts(key().build().expect("key"));
    off.rotation_enabled = Some(false);
    assert_eq!(checks(&off, &[]), [Check::RotationDisabled]);
    for builder in [
        key().key_spec(KeySpec::Rsa2048),
        key().key_spec(KeySpec::Hmac256),
        key().origin(OriginType::External),
        key().origin(OriginType::AwsCloudhsm),
        key().multi_region(true).multi_region_configuration(
            MultiRegionConfiguration::builder()
                .multi_region_key_type(MultiRegionKeyType::Replica)
                .build(),
        ),
    ] {
        let key = builder.build().expect("key");
        assert!(!rotation_applies(&key), "{key:?}");
        let never_asked = facts(key);
        assert!(!checks(&never_asked, &[]).contains(&Check::RotationDisabled));
    }
}

#[test]
fn a_public_principal_is_critical_unless_a_condition_restricts_it() {
    let mut public = facts(key().build().expect("key"));
    public.policy = Some(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]}));
    let found = judge(&public, &[]);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].check, found[0].severity),
        (Check::PublicKeyPolicy, Severity::Critical)
    );
    assert_eq!(
        found[0].detail,
        "Statement[1] allows everyone with no restricting condition"
    );

    let mut restricted = public.clone();
    restricted.policy = Some(json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}
    ]}));
    assert_eq!(checks(&restricted, &[]), []);
}

#[test]
fn kms_star_to_anyone_but_the_account_root_is_broad() {
    let mut broad = facts(key().build().expect("key"));
    broad.policy = Some(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "111122223333"]}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ops"}, "Action": ["kms:Decrypt", "kms:*"], "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/x"}, "Action": "kms:*", "Resource": "*"}
    ]}));
    let found = judge(&broad, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].check, Check::BroadKeyAccess);
    assert_eq!(
        found[0].detail,
        "Statement[1] grants kms:* to arn:aws:iam::111122223333:role/ops"
    );
    let mut other_root = broad.clone();
    other_root.policy = Some(
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "*", "Resource": "*"}]}),
    );
    assert_eq!(checks(&other_root, &[]), [Check::BroadKeyAccess]);
}

#[test]
fn states_multi_region_aliases_and_tags() {
    let pending = facts(
        key()
            .key_state(KeyState::PendingDeletion)
            .deletion_date(aws_smithy_types::DateTime::from_secs(1_800_000_000))
            .build()
            .expect("key"),
    );
    let found = judge(&pending, &[]);
    assert_eq!(found[0].check, Check::PendingDeletion);
    assert_eq!(
        found[0].detail,
        "scheduled for deletion on 2027-01-15T08:00:00Z"
    );
    assert_eq!(
        checks(
            &facts(key().key_state(KeyState::Disabled).build().expect("key")),
            &[]
        ),
        [Check::DisabledKey]
    );
    let primary = key().multi_region(true).multi_region_configuration(
        MultiRegionConfiguration::builder()
            .multi_region_key_type(MultiRegionKeyType::Primary)
            .build(),
    );
    assert_eq!(
        checks(&facts(primary.build().expect("key")), &[]),
        [Check::MultiRegionKey]
    );
    let mut no_alias = facts(key().build().expect("key"));
    no_alias.aliases.clear();
    assert_eq!(checks(&no_alias, &[]), [Check::MissingAlias]);
    let mut untagged = facts(key().build().expect("key"));
    untagged.tags = Some([("owner".to_owned(), "me".to_owned())].into());
    let found = judge(&untagged, &["owner".to_owned(), "cost-centre".to_owned()]);
    assert_eq!(found[0].check, Check::MissingRequiredTags);
    assert_eq!(found[0].detail, "missing tags: cost-centre");
}

#[test]
fn check_ids_and_severities_match_the_design() {
    let table: Vec<(&str, Severity)> = Check::ALL.iter().map(|c| (c.id(), c.severity())).collect();
    assert_eq!(
        table,
        [
            ("rotation-disabled", Severity::High),
            ("public-key-policy", Severity::Critical),
            ("broad-key-access", Severity::High),
            ("pending-deletion", Severity::Critical),
            ("disabled-key", Severity::Low),
            ("multi-region-key", Severity::Medium),
            ("missing-alias", Severity::Low),
            ("missing-required-tags", Severity::Low),
        ]
    );
    for check in Check::ALL {
        assert_eq!(
            serde_json::to_value(check).expect("json"),
            json!(check.id())
        );
    }
}
