//! `Custom::KmsKey` end to end: the lifecycle CloudFormation drives, checked in the emulator.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use aws_sdk_kms::types::KeyState;
use common::Fixture;
use common::kms::KmsView;
use kms_provider::KmsProvider;
use serde_json::{Value, json};

const KEY: &str = "Custom::KmsKey";

async fn fixture() -> (Fixture<KmsProvider>, KmsView) {
    let fx = Fixture::with(KmsProvider::new).await;
    let view = KmsView::new(&fx.account.config);
    (fx, view)
}

fn role(fx: &Fixture<KmsProvider>, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", fx.account.id)
}

fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
    policy["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["Sid"] == sid))
}

#[tokio::test]
async fn dev_lifecycle_create_update_replace_delete() {
    let (fx, kms) = fixture().await;
    let v1 = json!({
        "Environment": "dev", "Description": "orders data",
        "Aliases": ["orders", "alias/orders/secondary"],
        "KeyAdministrators": [role(&fx, "admin")], "KeyUsers": [role(&fx, "app")],
        "OnDemandRotationIntervalDays": "30", "RotationPeriodInDays": "180",
        "Grants": [{"Name": "worker", "GranteePrincipal": role(&fx, "worker"), "Operations": ["Decrypt", "GenerateDataKey"]}],
        "Tags": [{"Key": "team", "Value": "orders"}, {"Key": "tier", "Value": "data"}]
    });
    let put = fx.send(fx.events.create(KEY, "Key", v1.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let key_id = put.physical_id().to_owned();
    assert_eq!(put.data("KeyId"), key_id);
    assert_eq!(
        put.data("Arn"),
        format!("arn:aws:kms:us-east-1:{}:key/{key_id}", fx.account.id)
    );
    assert_eq!(
        put.data("AliasNames"),
        "alias/orders,alias/orders/secondary"
    );
    assert_eq!(put.data("RotationEnabled"), "true");
    assert_eq!(put.data("ReplicaArns"), "");

    let live = kms.key(&key_id).await;
    assert_eq!(live.description(), Some("orders data"));
    assert_eq!(live.key_state(), Some(&KeyState::Enabled));
    assert!(kms.rotation_enabled(&key_id).await);
    assert_eq!(
        kms.aliases(&key_id).await,
        ["alias/orders", "alias/orders/secondary"]
    );
    let policy = kms.policy(&key_id).await;
    let root = statement(&policy, "AccountRootKeepsAccess").expect("root statement");
    assert_eq!(
        root["Principal"]["AWS"],
        format!("arn:aws:iam::{}:root", fx.account.id)
    );
    assert_eq!(
        statement(&policy, "KeyUsers").expect("users")["Principal"]["AWS"],
        json!([role(&fx, "app")])
    );
    assert_eq!(
        kms.grants(&key_id).await,
        [(
            "worker".to_owned(),
            vec!["Decrypt".to_owned(), "GenerateDataKey".to_owned()]
        )]
    );
    let tags = kms.tags(&key_id).await;
    assert_eq!(tags.get("team").map(String::as_str), Some("orders"));
    assert_eq!(
        tags.get("stackhand:rotate-every-days").map(String::as_str),
        Some("30")
    );
    assert_eq!(
        tags.get("stackhand:rotation-period-days")
            .map(String::as_str),
        Some("180")
    );
    assert_eq!(
        tags.get("stackhand:logical-id").map(String::as_str),
        Some("Key")
    );
    assert!(tags.contains_key("stackhand:request-id"));

    // In place: description, alias moved, grant changed, tags, rotation, disabled.
    let v2 = json!({
        "Environment": "dev", "Description": "orders data v2",
        "Aliases": ["orders", "orders/renamed"],
        "KeyUsers": [role(&fx, "app"), role(&fx, "reporting")],
        "EnableKeyRotation": "false", "Enabled": false,
        "Grants": [{"Name": "worker", "GranteePrincipal": role(&fx, "worker"), "Operations": ["Decrypt"]},
                   {"Name": "audit", "GranteePrincipal": role(&fx, "audit"), "Operations": ["DescribeKey"]}],
        "Tags": [{"Key": "team", "Value": "payments"}]
    });
    let put = fx
        .send(
            fx.events
                .update(KEY, "Key", &key_id, v1.clone(), v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), key_id, "in place keeps the id");
    assert_eq!(put.data("RotationEnabled"), "false");
    let live = kms.key(&key_id).await;
    assert_eq!(live.description(), Some("orders data v2"));
    assert_eq!(live.key_state(), Some(&KeyState::Disabled));
    assert!(!kms.rotation_enabled(&key_id).await);
    assert_eq!(
        kms.aliases(&key_id).await,
        ["alias/orders", "alias/orders/renamed"]
    );
    assert_eq!(
        kms.grants(&key_id).await,
        [
            ("audit".to_owned(), vec!["DescribeKey".to_owned()]),
            ("worker".to_owned(), vec!["Decrypt".to_owned()])
        ]
    );
    let policy = kms.policy(&key_id).await;
    assert!(statement(&policy, "KeyAdministrators").is_none());
    assert_eq!(
        statement(&policy, "KeyUsers").expect("users")["Principal"]["AWS"],
        json!([role(&fx, "app"), role(&fx, "reporting")])
    );
    let tags = kms.tags(&key_id).await;
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
    assert!(!tags.contains_key("tier") && !tags.contains_key("stackhand:rotate-every-days"));
    assert_eq!(
        tags.get("stackhand:rotation-period-days")
            .map(String::as_str),
        Some("disabled"),
        "key-rotator leaves a key whose rotation was turned off alone"
    );

    // Replacement: a new spec makes a new key, the aliases move to it, the old key is untouched.
    let v3 = json!({"Environment": "dev", "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY", "Aliases": ["orders"]});
    let put = fx
        .send(
            fx.events
                .update(KEY, "Key", &key_id, v2.clone(), v3.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let new_id = put.physical_id().to_owned();
    assert_ne!(new_id, key_id);
    let new_key = kms.key(&new_id).await;
    assert_eq!(new_key.key_spec().map(|s| s.as_str()), Some("RSA_2048"));
    assert_eq!(new_key.key_usage().map(|u| u.as_str()), Some("SIGN_VERIFY"));
    assert_eq!(
        kms.alias_target("alias/orders").await.as_deref(),
        Some(new_id.as_str())
    );
    assert_eq!(
        kms.state(&key_id).await,
        KeyState::Disabled,
        "the old key waits for its Delete"
    );

    // CloudFormation deletes the old id: scheduled with the dev window, never immediately.
    let put = fx
        .send(fx.events.delete(KEY, "Key", &key_id, v2.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let old = kms.key(&key_id).await;
    assert_eq!(old.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(kms.pending_days(&key_id).await, 7);
    assert!(
        kms.aliases(&key_id).await.is_empty(),
        "the old key's remaining aliases are freed"
    );
    assert_eq!(kms.state(&new_id).await, KeyState::Enabled);

    for _ in 0..2 {
        let put = fx
            .send(fx.events.delete(KEY, "Key", &new_id, v3.clone()))
            .await;
        assert_eq!(
            put.status(),
            "SUCCESS",
            "a second Delete succeeds too: {}",
            put.reason()
        );
    }
    assert_eq!(kms.state(&new_id).await, KeyState::PendingDeletion);
    assert!(kms.live_keys().await.is_empty());
}

#[tokio::test]
async fn uat_and_prod_keys_are_retained_enabled_and_tagged() {
    let (fx, kms) = fixture().await;
    for env in ["uat", "prod"] {
        let props = json!({"Environment": env, "Aliases": [format!("retained-{env}")]});
        let put = fx
            .send(fx.events.create(KEY, &format!("Key{env}"), props.clone()))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
        let key_id = put.physical_id().to_owned();
        let put = fx
            .send(fx.events.delete(KEY, &format!("Key{env}"), &key_id, props))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
        assert_eq!(kms.state(&key_id).await, KeyState::Enabled, "{env}");
        assert!(
            kms.tags(&key_id)
                .await
                .contains_key("stackhand:retained-at"),
            "{env}"
        );
    }
    // An explicit RetainOnDelete false schedules deletion with the prod window.
    let props = json!({"Environment": "prod", "RetainOnDelete": "false"});
    let put = fx
        .send(fx.events.create(KEY, "Scratch", props.clone()))
        .await;
    let key_id = put.physical_id().to_owned();
    let put = fx
        .send(fx.events.delete(KEY, "Scratch", &key_id, props))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let key = kms.key(&key_id).await;
    assert_eq!(key.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(kms.pending_days(&key_id).await, 30);
}

#[tokio::test]
async fn a_create_delivered_twice_leaves_exactly_one_key() {
    let (fx, kms) = fixture().await;
    for props in [
        json!({"Environment": "dev", "Aliases": ["twice"]}),
        json!({"Environment": "dev", "Description": "no alias: found by its request tag"}),
    ] {
        let before = kms.all_keys().await.len();
        let (event, request_id) = fx.events.create(KEY, "Twice", props);
        let first = fx.send((event.clone(), request_id.clone())).await;
        assert_eq!(first.status(), "SUCCESS", "{}", first.reason());
        let second = fx.send((event, request_id)).await;
        assert_eq!(second.status(), "SUCCESS", "{}", second.reason());
        assert_eq!(first.physical_id(), second.physical_id());
        assert_eq!(kms.all_keys().await.len(), before + 1);
    }
}

#[tokio::test]
async fn bad_input_fails_naming_the_property_and_creates_no_key() {
    let (fx, kms) = fixture().await;
    let cases = [
        (
            json!({"RotationPeriodInDays": 10}),
            "RotationPeriodInDays must be between 90 and 2560, got 10",
        ),
        (
            json!({"KeySpec": "RSA_1024"}),
            "KeySpec must be one of SYMMETRIC_DEFAULT",
        ),
        (
            json!({"KeySpec": "ECC_NIST_P256", "EnableKeyRotation": true}),
            "EnableKeyRotation can be true only for KeySpec SYMMETRIC_DEFAULT",
        ),
        (
            json!({"KeySpec": "HMAC_256", "EnableKeyRotation": true}),
            "EnableKeyRotation can be true only for KeySpec SYMMETRIC_DEFAULT",
        ),
        (
            json!({"KeySpec": "HMAC_256", "KeyUsage": "ENCRYPT_DECRYPT"}),
            "KeyUsage with KeySpec HMAC_256 must be one of GENERATE_VERIFY_MAC, got \"ENCRYPT_DECRYPT\"",
        ),
        (
            json!({"Aliases": ["alias/aws/s3"]}),
            "Aliases must not start with alias/aws/",
        ),
        (
            json!({"PendingWindowInDays": 3}),
            "PendingWindowInDays must be between 7 and 30, got 3",
        ),
        (
            json!({"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}, "KeyUsers": ["arn:aws:iam::111122223333:role/app"]}),
            "KeyPolicy cannot be combined with KeyUsers",
        ),
        (
            json!({"Enabled": "maybe"}),
            "Enabled must be a boolean (true or false), got \"maybe\"",
        ),
        (
            json!({"Grants": [{"Name": "g", "GranteePrincipal": "arn:aws:iam::111122223333:role/app", "Operations": ["Decrypt", "Explode"]}]}),
            "Grants[0].Operations must be one of",
        ),
        (
            json!({"KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}}),
            "KeyPolicy must not allow everyone",
        ),
        (
            json!({"MultiRegion": true, "ReplicaRegions": ["us-east-1"]}),
            "ReplicaRegions must not include us-east-1",
        ),
    ];
    for (mut props, expected) in cases {
        props["Environment"] = json!("dev");
        let put = fx.send(fx.events.create(KEY, "Bad", props.clone())).await;
        assert_eq!(put.status(), "FAILED", "{props}");
        assert!(
            put.reason().starts_with("Custom::KmsKey: "),
            "{}",
            put.reason()
        );
        assert!(put.reason().contains(expected), "{props}: {}", put.reason());
        assert!(put.physical_id().starts_with("stackhand:create-failed:"));
    }
    assert!(kms.all_keys().await.is_empty(), "no key was created");
}

#[tokio::test]
async fn an_alias_held_by_another_resource_fails_before_any_key_is_made() {
    let (fx, kms) = fixture().await;
    let put = fx
        .send(fx.events.create(
            KEY,
            "First",
            json!({"Environment": "dev", "Aliases": ["shared"]}),
        ))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let holder = put.physical_id().to_owned();
    let put = fx
        .send(fx.events.create(
            KEY,
            "Second",
            json!({"Environment": "dev", "Aliases": ["other", "shared"]}),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert_eq!(
        put.reason(),
        format!(
            "Custom::KmsKey: Aliases: alias/shared already names key {holder}, a key this stack's resource did not create; choose another alias, or move it away first"
        )
    );
    assert_eq!(kms.all_keys().await, [holder]);
}

#[tokio::test]
async fn every_key_family_is_created_with_its_spec_and_usage() {
    let (fx, kms) = fixture().await;
    for (spec, usage, rotation) in [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "true"),
        ("RSA_2048", "ENCRYPT_DECRYPT", "false"),
        ("RSA_4096", "SIGN_VERIFY", "false"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "false"),
        ("ECC_NIST_P384", "KEY_AGREEMENT", "false"),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "false"),
        ("HMAC_256", "GENERATE_VERIFY_MAC", "false"),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "false"),
    ] {
        let props = json!({"Environment": "dev", "KeySpec": spec, "KeyUsage": usage,
            "KeyUsers": [role(&fx, "app")]});
        let put = fx.send(fx.events.create(KEY, "Family", props)).await;
        assert_eq!(put.status(), "SUCCESS", "{spec}: {}", put.reason());
        assert_eq!(put.data("RotationEnabled"), rotation, "{spec}");
        let key = kms.key(put.physical_id()).await;
        assert_eq!(key.key_spec().map(|s| s.as_str()), Some(spec));
        assert_eq!(key.key_usage().map(|u| u.as_str()), Some(usage));
        let policy = kms.policy(put.physical_id()).await;
        let actions = &statement(&policy, "KeyUsers").expect("users")["Action"];
        let expected = match usage {
            "SIGN_VERIFY" => "kms:Sign",
            "GENERATE_VERIFY_MAC" => "kms:GenerateMac",
            "KEY_AGREEMENT" => "kms:DeriveSharedSecret",
            _ => "kms:Decrypt",
        };
        assert!(
            actions.as_array().expect("list").contains(&json!(expected)),
            "{spec}: {actions}"
        );
    }
}

#[tokio::test]
async fn a_multi_region_key_gets_its_replicas_and_loses_removed_ones() {
    let (fx, kms) = fixture().await;
    let v1 = json!({"Environment": "dev", "MultiRegion": true, "ReplicaRegions": ["eu-west-1"]});
    let put = fx.send(fx.events.create(KEY, "Global", v1.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let key_id = put.physical_id().to_owned();
    assert!(key_id.starts_with("mrk-"), "{key_id}");
    assert_eq!(
        put.data("ReplicaArns"),
        format!("arn:aws:kms:eu-west-1:{}:key/{key_id}", fx.account.id)
    );
    // The primary and its replica are each a billed key.
    assert_eq!(put.data("EstimatedMonthlyCostUsd"), "2.00");
    let eu = KmsView {
        kms: common_region_client(&fx, "eu-west-1"),
    };
    assert_eq!(eu.state(&key_id).await, KeyState::Enabled);

    let v2 = json!({"Environment": "dev", "MultiRegion": true, "ReplicaRegions": ["us-west-2"]});
    let put = fx
        .send(fx.events.update(KEY, "Global", &key_id, v1, v2.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), key_id);
    assert_eq!(
        put.data("ReplicaArns"),
        format!("arn:aws:kms:us-west-2:{}:key/{key_id}", fx.account.id)
    );
    assert_eq!(
        eu.state(&key_id).await,
        KeyState::PendingDeletion,
        "the removed replica is scheduled"
    );
    let west = KmsView {
        kms: common_region_client(&fx, "us-west-2"),
    };
    assert_eq!(west.state(&key_id).await, KeyState::Enabled);

    let put = fx.send(fx.events.delete(KEY, "Global", &key_id, v2)).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(west.state(&key_id).await, KeyState::PendingDeletion);
    assert!(matches!(
        kms.state(&key_id).await,
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
    ));
}

fn common_region_client(fx: &Fixture<KmsProvider>, region: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::config::Builder::from(&fx.account.config)
        .region(aws_sdk_kms::config::Region::new(region.to_owned()))
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

#[tokio::test]
async fn a_rollback_update_with_swapped_properties_restores_the_old_settings() {
    let (fx, kms) = fixture().await;
    let old = json!({"Environment": "dev", "Description": "before", "Aliases": ["rollback"], "Tags": [{"Key": "v", "Value": "1"}]});
    let new = json!({"Environment": "dev", "Description": "after", "Aliases": ["rollback", "rollback-new"], "Tags": [{"Key": "v", "Value": "2"}]});
    let put = fx.send(fx.events.create(KEY, "Key", old.clone())).await;
    let key_id = put.physical_id().to_owned();
    let put = fx
        .send(
            fx.events
                .update(KEY, "Key", &key_id, old.clone(), new.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let put = fx
        .send(fx.events.update(KEY, "Key", &key_id, new, old))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(kms.key(&key_id).await.description(), Some("before"));
    assert_eq!(kms.aliases(&key_id).await, ["alias/rollback"]);
    assert_eq!(
        kms.tags(&key_id).await.get("v").map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn a_key_scheduled_for_deletion_outside_cloudformation_is_restored_by_an_update() {
    let (fx, kms) = fixture().await;
    let props = json!({"Environment": "dev", "Aliases": ["restored"]});
    let put = fx.send(fx.events.create(KEY, "Key", props.clone())).await;
    let key_id = put.physical_id().to_owned();
    kms.kms
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule");
    let put = fx
        .send(
            fx.events
                .update(KEY, "Key", &key_id, props.clone(), props.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(kms.state(&key_id).await, KeyState::Enabled);
    // A key already pending deletion is a successful Delete.
    kms.kms
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule");
    let put = fx.send(fx.events.delete(KEY, "Key", &key_id, props)).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
}

#[tokio::test]
async fn a_full_key_policy_is_applied_as_given() {
    let (fx, kms) = fixture().await;
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{}:root", fx.account.id)}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}
    ]});
    let put = fx
        .send(fx.events.create(
            KEY,
            "Key",
            json!({"Environment": "dev", "KeyPolicy": document.to_string()}),
        ))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(kms.policy(put.physical_id()).await, document);
}

#[tokio::test]
async fn the_sample_events_drive_a_whole_lifecycle() {
    let (fx, kms) = fixture().await;
    let ids = fx
        .replay_samples(
            "kms-provider",
            &[
                "key-create.json",
                "key-update.json",
                "key-replace.json",
                "key-delete-replaced.json",
                "key-delete.json",
            ],
        )
        .await;
    let [first, second] = ids.as_slice() else {
        panic!("a key and its replacement: {ids:?}");
    };
    assert_eq!(
        kms.key(second).await.key_spec().map(|s| s.as_str()),
        Some("ECC_NIST_P256")
    );
    for id in [first, second] {
        assert_eq!(kms.state(id).await, KeyState::PendingDeletion);
    }
}
