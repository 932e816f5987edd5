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
        last_usage: None,
        grants: Vec::new(),
    }
}

fn rules(required: &[&str]) -> Rules {
    Rules {
        required_tags: required.iter().map(|s| (*s).to_owned()).collect(),
        unused_days: 90,
        now: NOW,
        ..Rules::default()
    }
}

/// 2026-11-30T00:00:00Z.
const NOW: i64 = 1_795_996_800;

fn checks(facts: &KeyFacts, required: &[&str]) -> Vec<Check> {
    judge(facts, &rules(required))
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
    let found = judge(&public, &rules(&[]));
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
    let found = judge(&broad, &rules(&[]));
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
    // Another account's root with kms:*: broad, and from outside the account.
    assert_eq!(
        checks(&other_root, &[]),
        [Check::BroadKeyAccess, Check::CrossAccountAccess]
    );
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
    let found = judge(&pending, &rules(&[]));
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
    let found = judge(&untagged, &rules(&["owner", "cost-centre"]));
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
            ("unused-key", Severity::Medium),
            ("cross-account-access", Severity::High),
            ("external-grant", Severity::High),
        ]
    );
    for check in Check::ALL {
        assert_eq!(
            serde_json::to_value(check).expect("json"),
            json!(check.id())
        );
    }
}

const DAY: i64 = 86_400;

fn usage(used_days_ago: Option<i64>, tracking_days_ago: i64, created_days_ago: i64) -> LastUsage {
    LastUsage {
        used: used_days_ago.map(|d| (NOW - d * DAY, "Decrypt".to_owned())),
        tracking_start: NOW - tracking_days_ago * DAY,
        created: NOW - created_days_ago * DAY,
    }
}

#[test]
fn a_key_is_unused_only_when_the_record_covers_the_whole_window() {
    // Used within the window, or never used but made within it: not unused.
    assert_eq!(unused(&usage(Some(10), 400, 400), NOW, 90), None);
    assert_eq!(unused(&usage(None, 30, 30), NOW, 90), None);
    // Used, but long ago.
    let last = unused(&usage(Some(120), 400, 400), NOW, 90).expect("unused");
    assert_eq!(
        last,
        "last used on 2026-08-02 (Decrypt), more than 90 days ago"
    );
    // Never used since it was made, 100 days ago.
    let never = unused(&usage(None, 100, 100), NOW, 90).expect("unused");
    assert_eq!(never, "never used since it was made on 2026-08-22");
    // Made before tracking began: no use recorded since tracking started 200 days ago.
    let since = unused(&usage(None, 200, 900), NOW, 90).expect("unused");
    assert_eq!(
        since,
        "no use recorded since tracking started on 2026-05-14"
    );
    // Tracking started 30 days ago on a key made years ago: its last use may predate tracking,
    // so it is never called unused.
    assert_eq!(unused(&usage(None, 30, 900), NOW, 90), None);
}

#[test]
fn only_enabled_keys_with_usage_read_are_judged_unused() {
    let mut old = facts(key().build().expect("metadata"));
    old.last_usage = Some(usage(None, 100, 100));
    assert_eq!(checks(&old, &[]), [Check::UnusedKey]);
    old.last_usage = None;
    assert!(
        checks(&old, &[]).is_empty(),
        "not read (a disabled key): not judged"
    );
}

#[test]
fn access_from_outside_the_account_and_the_trusted_ones_is_found() {
    let mut shared = facts(key().build().expect("metadata"));
    shared.policy = Some(json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:role/reader", "777788889999"]},
         "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Encrypt*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"}
    ]}));
    let found = judge(&shared, &rules(&[]));
    let details: Vec<&str> = found.iter().map(|f| f.detail.as_str()).collect();
    assert_eq!(
        details,
        [
            "Statement[1] allows arn:aws:iam::444455556666:role/reader, of account 444455556666, outside this account and the trusted ones",
            "Statement[1] allows 777788889999, of account 777788889999, outside this account and the trusted ones",
        ]
    );
    assert!(
        found
            .iter()
            .all(|f| f.check == Check::CrossAccountAccess && f.severity == Severity::High)
    );
    let trusted = Rules {
        trusted_accounts: vec!["444455556666".to_owned(), "777788889999".to_owned()],
        ..rules(&[])
    };
    assert!(judge(&shared, &trusted).is_empty());
}

#[test]
fn a_grant_to_or_retirable_by_another_account_is_found() {
    let mut granted = facts(key().build().expect("metadata"));
    granted.grants = vec![
        GrantFacts {
            name: "app".to_owned(),
            grantee: "arn:aws:iam::111122223333:role/app".to_owned(),
            retiring: Some("arn:aws:iam::444455556666:role/ops".to_owned()),
        },
        GrantFacts {
            name: "rds".to_owned(),
            grantee: "rds.us-east-1.amazonaws.com".to_owned(),
            retiring: None,
        },
    ];
    let found = judge(&granted, &rules(&[]));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].check, Check::ExternalGrant);
    assert_eq!(
        found[0].detail,
        "grant app has retiring principal arn:aws:iam::444455556666:role/ops, of account 444455556666, outside this account and the trusted ones"
    );
}
