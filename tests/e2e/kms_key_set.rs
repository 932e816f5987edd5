//! `Custom::KmsKeySet` end to end: the profile's keys, moved between environments.

mod common;

use aws_sdk_kms::types::KeyState;
use common::Fixture;
use common::kms::KmsView;
use kms_provider::KmsProvider;
use serde_json::json;

const SET: &str = "Custom::KmsKeySet";

async fn fixture() -> (Fixture<KmsProvider>, KmsView) {
    let fx = Fixture::with(KmsProvider::new).await;
    let view = KmsView::new(&fx.account.config);
    (fx, view)
}

#[tokio::test]
async fn dev_to_qa_adds_the_data_key_and_back_to_dev_schedules_it() {
    let (fx, kms) = fixture().await;
    let dev = json!({"Environment": "dev", "Prefix": "acme", "Tags": [{"Key": "team", "Value": "platform"}]});
    let put = fx.send(fx.events.create(SET, "Keys", dev.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "keyset/acme");
    assert_eq!(put.data("KeyCount"), "1");
    assert_eq!(put.data("EstimatedMonthlyCostUsd"), "1.00");
    let main = put.data("MainKeyId").to_owned();
    assert_eq!(
        put.data("MainKeyArn"),
        format!("arn:aws:kms:us-east-1:{}:key/{main}", fx.account.id)
    );
    assert_eq!(kms.aliases(&main).await, ["alias/acme-main"]);
    assert!(kms.rotation_enabled(&main).await);
    assert_eq!(
        kms.tags(&main).await.get("team").map(String::as_str),
        Some("platform")
    );
    let policy = kms.policy(&main).await;
    assert!(policy.to_string().contains("logs.us-east-1.amazonaws.com"));

    let qa = json!({"Environment": "qa", "Prefix": "acme", "Tags": [{"Key": "team", "Value": "platform"}]});
    let put = fx
        .send(
            fx.events
                .update(SET, "Keys", "keyset/acme", dev.clone(), qa.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "keyset/acme");
    assert_eq!(put.data("KeyCount"), "2");
    assert_eq!(put.data("EstimatedMonthlyCostUsd"), "2.00");
    assert_eq!(put.data("MainKeyId"), main, "main is kept");
    let data = put.data("DataKeyId").to_owned();
    assert_eq!(kms.aliases(&data).await, ["alias/acme-data"]);
    let policy = kms.policy(&data).await;
    assert!(
        policy.to_string().contains("rds.us-east-1.amazonaws.com"),
        "{policy}"
    );

    let put = fx
        .send(
            fx.events
                .update(SET, "Keys", "keyset/acme", qa.clone(), dev.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.data("KeyCount"), "1");
    let removed = kms.key(&data).await;
    assert_eq!(removed.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(
        kms.pending_days(&data).await,
        14,
        "the longer of the two windows"
    );

    let put = fx
        .send(fx.events.delete(SET, "Keys", "keyset/acme", dev))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(kms.pending_days(&main).await, 7);
    assert!(kms.live_keys().await.is_empty());
}

#[tokio::test]
async fn prod_creates_four_purpose_keys_and_retains_them_on_delete() {
    let (fx, kms) = fixture().await;
    let props = json!({"Environment": "prod", "Prefix": "bank", "KeyAdministrators": [format!("arn:aws:iam::{}:role/secadmin", fx.account.id)]});
    let put = fx.send(fx.events.create(SET, "Keys", props.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.data("KeyCount"), "4");
    for (stem, service) in [("Rds", "rds"), ("S3", "s3"), ("Ebs", "ec2")] {
        let id = put.data(&format!("{stem}KeyId"));
        let policy = kms.policy(id).await.to_string();
        assert!(
            policy.contains(&format!("{service}.us-east-1.amazonaws.com")),
            "{stem}: {policy}"
        );
        assert!(policy.contains("secadmin"), "{stem}");
    }
    let ids: Vec<String> = ["Main", "Rds", "S3", "Ebs"]
        .iter()
        .map(|s| put.data(&format!("{s}KeyId")).to_owned())
        .collect();
    let put = fx
        .send(fx.events.delete(SET, "Keys", "keyset/bank", props))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    for id in ids {
        assert_eq!(kms.state(&id).await, KeyState::Enabled);
        assert!(kms.tags(&id).await.contains_key("stackhand:retained-at"));
    }
}

#[tokio::test]
async fn a_create_delivered_twice_leaves_one_key_per_name() {
    let (fx, kms) = fixture().await;
    let (event, request_id) =
        fx.events
            .create(SET, "Keys", json!({"Environment": "qa", "Prefix": "twice"}));
    let first = fx.send((event.clone(), request_id.clone())).await;
    let second = fx.send((event, request_id)).await;
    assert_eq!(
        (first.status(), second.status()),
        ("SUCCESS", "SUCCESS"),
        "{}",
        second.reason()
    );
    assert_eq!(first.data("DataKeyId"), second.data("DataKeyId"));
    assert_eq!(kms.all_keys().await.len(), 2);
}

#[tokio::test]
async fn a_new_prefix_replaces_the_set_and_the_old_delete_removes_only_old_keys() {
    let (fx, kms) = fixture().await;
    let v1 = json!({"Environment": "dev", "Prefix": "old"});
    let v2 = json!({"Environment": "dev", "Prefix": "new"});
    let put = fx.send(fx.events.create(SET, "Keys", v1.clone())).await;
    let old_main = put.data("MainKeyId").to_owned();
    let put = fx
        .send(fx.events.update(SET, "Keys", "keyset/old", v1.clone(), v2))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "keyset/new");
    let new_main = put.data("MainKeyId").to_owned();
    assert_ne!(new_main, old_main);
    let put = fx
        .send(fx.events.delete(SET, "Keys", "keyset/old", v1))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(kms.state(&old_main).await, KeyState::PendingDeletion);
    assert_eq!(kms.state(&new_main).await, KeyState::Enabled);
}

#[tokio::test]
async fn a_bad_key_set_creates_nothing() {
    let (fx, kms) = fixture().await;
    let put = fx
        .send(fx.events.create(
            SET,
            "Keys",
            json!({"Environment": "prod", "Prefix": "p", "KeyUsers": ["*"]}),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .starts_with("Custom::KmsKeySet: KeyUsers must be IAM principal ARNs"),
        "{}",
        put.reason()
    );
    assert!(kms.all_keys().await.is_empty());
}

#[tokio::test]
async fn the_sample_events_drive_a_whole_lifecycle() {
    let (fx, kms) = fixture().await;
    let ids = fx
        .replay_samples(
            "kms-provider",
            &[
                "key-set-create.json",
                "key-set-update.json",
                "key-set-replace.json",
                "key-set-delete-replaced.json",
                "key-set-delete.json",
            ],
        )
        .await;
    assert_eq!(ids, ["keyset/acme", "keyset/acme-platform"]);
    assert_eq!(kms.all_keys().await.len(), 4, "main and data, twice");
    assert!(kms.live_keys().await.is_empty());
}
