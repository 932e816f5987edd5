//! A Delete before the Create finished. When another resource of the stack fails, CloudFormation
//! cancels a custom resource whose Create has not answered ("Resource creation cancelled") and
//! sends a Delete carrying a physical id it made up, while that Create may still be running in
//! another instance of the function. Here the Create runs against a slow endpoint in one
//! function process and the Delete arrives in a second one; once both are over, nothing the
//! Create made is left.

use crate::common;
use crate::stage::{Injected, LOGICAL_ID, Stage};
use e2e::{Account, Fault, emulator};
use serde_json::{Value, json};
use std::time::Duration;

/// What CloudFormation puts in such a Delete: none of our ids.
const MADE_UP_ID: &str = "faults-Faulty-1X2Y3Z4W5V6U7";

/// Every AWS answer of the Create comes this late, so the Delete arrives while it runs.
const SLOW: Fault = Fault::Slow(700);

/// Runs the slow Create and, 300 ms into it, the Delete with a made-up id; returns the account.
async fn cancelled_while_running(binary_name: &str, resource_type: &str, props: Value) -> Account {
    let account = emulator().new_account().await;
    let creating = Stage::start(account.clone(), binary_name, Injected::Proxied(SLOW), &[]).await;
    let deleting = Stage::start(
        account.clone(),
        binary_name,
        Injected::Proxied(Fault::Pass),
        &[],
    )
    .await;
    let create = creating
        .events
        .create(resource_type, LOGICAL_ID, props.clone());
    let delete = deleting
        .events
        .delete(resource_type, LOGICAL_ID, MADE_UP_ID, props);
    let delete_soon = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        deleting
            .send_answered_once(delete, &format!("{resource_type} Delete"))
            .await
    };
    let create_label = format!("{resource_type} Create");
    let ((_, created), (_, deleted)) = tokio::join!(
        creating.send_answered_once(create, &create_label),
        delete_soon
    );
    // CloudFormation ignores the cancelled Create's answer, whatever it is.
    println!(
        "cancelled | {resource_type} | Create answered {} | Delete answered {}",
        created.status(),
        deleted.status()
    );
    assert_eq!(
        deleted.status(),
        "SUCCESS",
        "{}\n{}",
        deleted.reason(),
        deleting.function.output()
    );
    assert_eq!(deleted.physical_id(), MADE_UP_ID);
    account
}

#[tokio::test]
async fn a_delete_before_the_create_finished_leaves_nothing_behind() {
    let group = async {
        let props = json!({"Environment": "dev", "LogGroupName": "/cancelled/app"});
        let account =
            cancelled_while_running("monitoring-provider", "Custom::LogGroup", props).await;
        let groups = aws_sdk_cloudwatchlogs::Client::new(&account.config)
            .describe_log_groups()
            .send()
            .await
            .expect("describe");
        assert!(groups.log_groups().is_empty(), "{:?}", groups.log_groups());
    };
    let key = async {
        let props = json!({"Environment": "dev", "Aliases": ["cancelled"]});
        let account = cancelled_while_running("kms-provider", "Custom::KmsKey", props).await;
        let kms = common::kms::KmsView::new(&account.config);
        assert!(
            kms.live_keys().await.is_empty(),
            "the key's deletion is scheduled"
        );
    };
    let topic = async {
        let props = json!({"Environment": "dev", "TopicName": "cancelled-alerts"});
        let account =
            cancelled_while_running("monitoring-provider", "Custom::AlertTopic", props).await;
        let topics = aws_sdk_sns::Client::new(&account.config)
            .list_topics()
            .send()
            .await
            .expect("topics");
        assert!(topics.topics().is_empty(), "{:?}", topics.topics());
    };
    tokio::join!(group, key, topic);
}
