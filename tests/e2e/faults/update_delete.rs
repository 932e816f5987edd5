//! Updates and Deletes under the faults that could hang a stack or mislead it: silence (the
//! deadline guard must answer), 503 after the SDK's retries, and reset connections. Each gets
//! exactly one response, before the deadline: FAILED, naming the type, and keeping the
//! resource's physical id (a FAILED Update must not point CloudFormation at another resource).
//! Once AWS answers again, the Delete goes through.

use crate::stage::{Injected, LOGICAL_ID, Stage};
use e2e::{Fault, RecordedPut, emulator};
use serde_json::{Value, json};

const FAULTS: [(&str, Fault); 3] = [
    ("silent", Fault::Hang),
    ("503", Fault::Status(503)),
    ("reset", Fault::Reset),
];

/// One answer to a request sent under a fault: in time, alone, FAILED.
async fn answered_once_in_time(stage: &Stage, request: (Value, String), what: &str) -> RecordedPut {
    let (_, put) = stage.send_answered_once(request, what).await;
    assert_eq!(put.status(), "FAILED", "{what}: {}", put.reason());
    println!("fault-table | {what} | {}", put.reason());
    put
}

/// Creates `props` cleanly, then sends an Update to `changed` and a Delete under each fault,
/// then the Delete again with AWS answering; returns the account for the caller's check.
async fn update_and_delete_under_faults(
    binary_name: &str,
    resource_type: &str,
    props: Value,
    changed: Value,
) -> e2e::Account {
    let account = emulator().new_account().await;
    let stage = Stage::start(account, binary_name, Injected::Proxied(Fault::Pass), &[]).await;
    let (_, created) = stage
        .send(
            stage
                .events
                .create(resource_type, LOGICAL_ID, props.clone()),
        )
        .await;
    assert_eq!(created.status(), "SUCCESS", "{}", created.reason());
    let physical_id = created.physical_id().to_owned();
    for (fault_name, fault) in FAULTS {
        stage.proxy.set(fault);
        let update = stage.events.update(
            resource_type,
            LOGICAL_ID,
            &physical_id,
            props.clone(),
            changed.clone(),
        );
        let what = format!("{binary_name} | {resource_type} Update | {fault_name}");
        let failed = answered_once_in_time(&stage, update, &what).await;
        assert!(failed.reason().starts_with(resource_type), "{what}");
        assert_eq!(failed.physical_id(), physical_id, "{what}: the id is kept");

        let delete = stage
            .events
            .delete(resource_type, LOGICAL_ID, &physical_id, props.clone());
        let what = format!("{binary_name} | {resource_type} Delete | {fault_name}");
        let failed = answered_once_in_time(&stage, delete, &what).await;
        assert!(failed.reason().starts_with(resource_type), "{what}");
        assert_eq!(failed.physical_id(), physical_id, "{what}: the id is kept");
    }
    stage.proxy.set(Fault::Pass);
    let (_, deleted) = stage
        .send(
            stage
                .events
                .delete(resource_type, LOGICAL_ID, &physical_id, props),
        )
        .await;
    assert_eq!(deleted.status(), "SUCCESS", "{}", deleted.reason());
    stage.account.clone()
}

/// The three providers side by side: each case spends most of its time waiting for the
/// deadline guard.
#[tokio::test]
async fn updates_and_deletes_answer_once_in_time_under_every_fault() {
    let key = async {
        let props = json!({"Environment": "dev", "Aliases": ["faults-kept"], "Description": "v1"});
        let mut changed = props.clone();
        changed["Description"] = json!("v2");
        let account =
            update_and_delete_under_faults("kms-provider", "Custom::KmsKey", props, changed).await;
        let kms = crate::common::kms::KmsView::new(&account.config);
        assert!(
            kms.live_keys().await.is_empty(),
            "the key's deletion is scheduled"
        );
    };
    let group = async {
        let props = json!({"Environment": "dev", "LogGroupName": "/faults/kept"});
        let mut changed = props.clone();
        changed["RetentionInDays"] = json!(30);
        let account = update_and_delete_under_faults(
            "monitoring-provider",
            "Custom::LogGroup",
            props,
            changed,
        )
        .await;
        let groups = aws_sdk_cloudwatchlogs::Client::new(&account.config)
            .describe_log_groups()
            .send()
            .await
            .expect("describe");
        assert!(groups.log_groups().is_empty(), "the group is deleted");
    };
    let cluster = async {
        let props = json!({"Environment": "dev", "ClusterName": "faults-kept"});
        let mut changed = props.clone();
        changed["ContainerInsights"] = json!("disabled");
        let account =
            update_and_delete_under_faults("ecs-provider", "Custom::EcsCluster", props, changed)
                .await;
        let described = aws_sdk_ecs::Client::new(&account.config)
            .describe_clusters()
            .clusters("faults-kept")
            .send()
            .await
            .expect("describe");
        assert!(
            described
                .clusters()
                .iter()
                .all(|c| c.status() == Some("INACTIVE")),
            "the cluster is deleted: {:?}",
            described.clusters()
        );
    };
    tokio::join!(key, group, cluster);
}
