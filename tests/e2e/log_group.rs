//! `Custom::LogGroup` end to end: the lifecycle CloudFormation drives, checked in the emulator.

mod common;

use common::{Fixture, LOG_GROUP, key_arn};
use serde_json::json;

#[tokio::test]
async fn dev_lifecycle_create_update_replace_delete() {
    let fx = Fixture::new().await;
    let v1 = json!({"Environment": "dev", "LogGroupName": "/app/api", "Tags": [{"Key": "team", "Value": "core"}, {"Key": "tier", "Value": "web"}]});
    let (event, create_id) = fx.events.create(LOG_GROUP, "ApiLogs", v1.clone());
    let put = fx.send((event, create_id.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "/app/api");
    assert_eq!(put.data("LogGroupName"), "/app/api");
    assert_eq!(
        put.data("Arn"),
        format!(
            "arn:aws:logs:us-east-1:{}:log-group:/app/api:*",
            fx.account.id
        )
    );
    let group = fx.group("/app/api").await.expect("created");
    assert_eq!(group.retention_in_days(), Some(7), "dev profile retention");
    assert_eq!(group.kms_key_id(), None);
    let tags = fx.tags("/app/api").await;
    assert_eq!(tags.get("team").map(String::as_str), Some("core"));
    assert_eq!(tags.get("stackhand:request-id"), Some(&create_id));
    assert_eq!(
        tags.get("stackhand:logical-id").map(String::as_str),
        Some("ApiLogs")
    );
    assert_eq!(tags.get("stackhand:stack-id"), Some(&fx.events.stack_id));

    // In place: retention, encryption and tags.
    let v2 = json!({"Environment": "dev", "LogGroupName": "/app/api", "RetentionInDays": 60, "KmsKeyArn": key_arn(&fx.account), "Tags": [{"Key": "team", "Value": "platform"}]});
    let put = fx
        .send(
            fx.events
                .update(LOG_GROUP, "ApiLogs", "/app/api", v1, v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(
        put.physical_id(),
        "/app/api",
        "an in-place update keeps the id"
    );
    let group = fx.group("/app/api").await.expect("exists");
    assert_eq!(group.retention_in_days(), Some(60));
    assert_eq!(group.kms_key_id(), Some(key_arn(&fx.account).as_str()));
    let tags = fx.tags("/app/api").await;
    assert_eq!(tags.get("team").map(String::as_str), Some("platform"));
    assert!(!tags.contains_key("tier"), "a removed tag is untagged");

    // Replacement: a new name creates a new group; the old one waits for CloudFormation's Delete.
    let v3 = json!({"Environment": "dev", "LogGroupName": "/app/api-v2"});
    let put = fx
        .send(
            fx.events
                .update(LOG_GROUP, "ApiLogs", "/app/api", v2.clone(), v3.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "/app/api-v2");
    assert!(
        fx.group("/app/api").await.is_some(),
        "the old group stays until its Delete"
    );
    assert_eq!(
        fx.group("/app/api-v2")
            .await
            .expect("new")
            .retention_in_days(),
        Some(7)
    );

    // CloudFormation's cleanup Delete of the old id carries the old properties.
    let put = fx
        .send(fx.events.delete(LOG_GROUP, "ApiLogs", "/app/api", v2))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(fx.group("/app/api").await.is_none());

    let put = fx
        .send(
            fx.events
                .delete(LOG_GROUP, "ApiLogs", "/app/api-v2", v3.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS");
    assert_eq!(fx.group_count().await, 0);

    // A Delete delivered twice, or of something already gone, succeeds.
    let put = fx
        .send(fx.events.delete(LOG_GROUP, "ApiLogs", "/app/api-v2", v3))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
}

#[tokio::test]
async fn prod_retains_the_group_and_its_data_on_delete() {
    let fx = Fixture::new().await;
    let props = json!({"Environment": "prod", "LogGroupName": "/prod/audit", "KmsKeyArn": key_arn(&fx.account)});
    let put = fx
        .send(fx.events.create(LOG_GROUP, "Audit", props.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let group = fx.group("/prod/audit").await.expect("created");
    assert_eq!(group.retention_in_days(), Some(90));
    assert_eq!(group.kms_key_id(), Some(key_arn(&fx.account).as_str()));

    let put = fx
        .send(fx.events.delete(LOG_GROUP, "Audit", "/prod/audit", props))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(
        fx.group("/prod/audit").await.is_some(),
        "prod keeps its log groups"
    );
    let retained_at = fx
        .tags("/prod/audit")
        .await
        .get("stackhand:retained-at")
        .cloned()
        .expect("tagged");
    assert_eq!(retained_at.len(), 10, "a date: {retained_at}");
}

#[tokio::test]
async fn uat_and_prod_delete_only_with_an_explicit_retain_false() {
    let fx = Fixture::new().await;
    for env in ["uat", "prod"] {
        let name = format!("/{env}/scratch");
        let props = json!({"Environment": env, "LogGroupName": name, "KmsKeyArn": key_arn(&fx.account), "RetainOnDelete": "false"});
        assert_eq!(
            fx.send(fx.events.create(LOG_GROUP, "Scratch", props.clone()))
                .await
                .status(),
            "SUCCESS"
        );
        let put = fx
            .send(fx.events.delete(LOG_GROUP, "Scratch", &name, props))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
        assert!(
            fx.group(&name).await.is_none(),
            "{env}: explicitly not retained"
        );
    }
}

#[tokio::test]
async fn an_existing_group_made_elsewhere_is_never_adopted_or_touched() {
    let fx = Fixture::new().await;
    fx.logs
        .create_log_group()
        .log_group_name("/theirs")
        .send()
        .await
        .expect("create");
    let put = fx
        .send(fx.events.create(
            LOG_GROUP,
            "Mine",
            json!({"Environment": "dev", "LogGroupName": "/theirs"}),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .contains("already exists and was not created by this stack's request"),
        "{}",
        put.reason()
    );
    let group = fx.group("/theirs").await.expect("still there");
    assert_eq!(group.retention_in_days(), None, "untouched");
}

#[tokio::test]
async fn an_update_recreates_a_group_deleted_outside_cloudformation() {
    let fx = Fixture::new().await;
    let props = json!({"Environment": "dev", "LogGroupName": "/drifted"});
    assert_eq!(
        fx.send(fx.events.create(LOG_GROUP, "Drift", props.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    fx.logs
        .delete_log_group()
        .log_group_name("/drifted")
        .send()
        .await
        .expect("delete");
    let newer = json!({"Environment": "dev", "LogGroupName": "/drifted", "RetentionInDays": 14});
    let put = fx
        .send(
            fx.events
                .update(LOG_GROUP, "Drift", "/drifted", props, newer),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(
        fx.group("/drifted")
            .await
            .expect("recreated")
            .retention_in_days(),
        Some(14)
    );
}

#[tokio::test]
async fn an_environment_change_applies_the_new_profile() {
    let fx = Fixture::new().await;
    let dev = json!({"Environment": "dev", "LogGroupName": "/promoted"});
    assert_eq!(
        fx.send(fx.events.create(LOG_GROUP, "P", dev.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    let qa = json!({"Environment": "qa", "LogGroupName": "/promoted", "KmsKeyArn": key_arn(&fx.account)});
    let put = fx
        .send(fx.events.update(LOG_GROUP, "P", "/promoted", dev, qa))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let group = fx.group("/promoted").await.expect("exists");
    assert_eq!(group.retention_in_days(), Some(14));
    assert!(group.kms_key_id().is_some());
}

#[tokio::test]
async fn the_sample_events_drive_a_whole_lifecycle() {
    let fx = Fixture::new().await;
    fx.replay_samples(
        "monitoring-provider",
        &[
            "log-group-create.json",
            "log-group-update.json",
            "log-group-replace.json",
            "log-group-delete.json",
        ],
    )
    .await;
    assert!(
        fx.group("/orders/api").await.is_some(),
        "replaced, and its cleanup Delete is CloudFormation's"
    );
    assert!(fx.group("/orders/api-v2").await.is_none());
}
