//! Multi-call Creates cut off part-way: the emulator stops answering right after a chosen
//! call, and the Create answers FAILED in time. Then CloudFormation either retries the same
//! request, which must find what was made by its request tag and finish it, or rolls it back,
//! whose Delete of the marker id must remove what was made, and nothing else.
//!
//! Longer than 400 lines on purpose: each multi-call type's cut, retry and rollback side by side,
//! in the one fault binary.

use crate::common;
use crate::stage::{Injected, LOGICAL_ID, Stage};
use e2e::{Account, CfnEvents, Emulator, Fault, RecordedPut, emulator};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Where the cut falls: right after the provider's `nth` call of `operation`.
#[derive(Debug, Clone, Copy)]
struct CutAfter(&'static str, usize);

/// A Create cut off at `cut`, in a fresh account that `prepare` set up first.
struct CutOff {
    stage: Stage,
    create: (Value, String),
    failed: RecordedPut,
}

/// Requests a clean Create of `props` makes up to and including the cut, counted in an
/// account of its own: the cut follows the provider's call order, not a number written here.
async fn requests_through(
    binary_name: &str,
    resource_type: &str,
    props: &Value,
    cut: CutAfter,
    prepare: &impl AsyncFn(&Account),
) -> u32 {
    let account = emulator().new_account().await;
    prepare(&account).await;
    let stage = Stage::start(account, binary_name, Injected::Proxied(Fault::Pass), &[]).await;
    let (_, put) = stage
        .send(
            stage
                .events
                .create(resource_type, LOGICAL_ID, props.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "clean Create: {}", put.reason());
    let calls = stage.proxy.forwarded();
    let CutAfter(operation, nth) = cut;
    let at = calls
        .iter()
        .enumerate()
        .filter(|(_, call)| *call == operation)
        .nth(nth - 1)
        .map(|(at, _)| at + 1)
        .unwrap_or_else(|| panic!("{resource_type}: no call {nth} of {operation} in {calls:?}"));
    u32::try_from(at).expect("a small count")
}

async fn cut_off(
    binary_name: &str,
    resource_type: &str,
    props: &Value,
    cut: CutAfter,
    prepare: impl AsyncFn(&Account),
) -> CutOff {
    let passed = requests_through(binary_name, resource_type, props, cut, &prepare).await;
    let account = emulator().new_account().await;
    prepare(&account).await;
    let stage = Stage::start(account, binary_name, Injected::Proxied(Fault::Pass), &[]).await;
    stage.proxy.set(Fault::DieAfter(passed));
    let create = stage
        .events
        .create(resource_type, LOGICAL_ID, props.clone());
    let (_, failed) = stage.send(create.clone()).await;
    assert_eq!(
        failed.status(),
        "FAILED",
        "{resource_type} cut after {cut:?}\n{}",
        stage.function.output()
    );
    assert!(
        failed.reason().starts_with(resource_type),
        "{}",
        failed.reason()
    );
    println!(
        "cut-off | {resource_type} | after {cut:?} ({passed} requests) | {}",
        failed.reason()
    );
    CutOff {
        stage,
        create,
        failed,
    }
}

impl CutOff {
    async fn retry(&self) -> RecordedPut {
        self.stage.proxy.set(Fault::Pass);
        let (event, request_id) = &self.create;
        let put = self.stage.resend(event, request_id).await;
        assert_eq!(
            put.status(),
            "SUCCESS",
            "retry: {}\n{}",
            put.reason(),
            self.stage.function.output()
        );
        put
    }

    async fn roll_back(&self, resource_type: &str, props: &Value) {
        let put = self
            .stage
            .roll_back(resource_type, &self.failed, props.clone())
            .await;
        assert_eq!(
            put.status(),
            "SUCCESS",
            "rollback: {}\n{}",
            put.reason(),
            self.stage.function.output()
        );
    }
}

async fn nothing_to_prepare(_: &Account) {}

const KEY_SET: &str = "Custom::KmsKeySet";

/// The cut falls after the first key of a qa KmsKeySet (main, data) is complete. The retry
/// finds main by its request tag and alias and makes data: two keys in all, none orphaned.
#[tokio::test]
async fn a_key_set_cut_off_mid_create_is_completed_by_the_retry_without_orphans() {
    let props = json!({"Environment": "qa", "Prefix": "cut"});
    let cut = cut_off(
        "kms-provider",
        KEY_SET,
        &props,
        CutAfter("CreateAlias", 1),
        nothing_to_prepare,
    )
    .await;
    let kms = common::kms::KmsView::new(&cut.stage.account.config);
    assert_eq!(
        kms.live_keys().await.len(),
        1,
        "main was made before the cut"
    );

    cut.retry().await;
    let keys = kms.live_keys().await;
    assert_eq!(keys.len(), 2, "main reused, data made: {keys:?}");
    for alias in ["alias/cut-main", "alias/cut-data"] {
        assert!(kms.alias_target(alias).await.is_some(), "{alias}");
    }
}

/// The cut falls right after CreateKey of main: the key exists, its alias does not. The
/// rollback finds it by the failed request's tag and schedules its deletion (qa: 14 days).
#[tokio::test]
async fn a_key_set_cut_off_mid_create_leaves_nothing_after_the_rollback() {
    let props = json!({"Environment": "qa", "Prefix": "rolled"});
    let cut = cut_off(
        "kms-provider",
        KEY_SET,
        &props,
        CutAfter("CreateKey", 1),
        nothing_to_prepare,
    )
    .await;
    let kms = common::kms::KmsView::new(&cut.stage.account.config);
    let made = kms.live_keys().await;
    assert_eq!(made.len(), 1, "CreateKey got through before the cut");

    cut.roll_back(KEY_SET, &props).await;
    assert!(kms.live_keys().await.is_empty(), "no key left live");
    assert_eq!(kms.pending_days(&made[0]).await, 14, "qa's pending window");
}

const BASELINE: &str = "Custom::AlarmBaseline";

fn baseline_props() -> Value {
    json!({"Environment": "prod", "Prefix": "cut", "ClusterName": "cut", "ServiceNames": ["api"],
        "LogGroupName": "/cut/api"})
}

/// The log group the baseline watches, and a hand-made alarm under the same prefix that no
/// cleanup may touch.
async fn baseline_account(account: &Account) {
    aws_sdk_cloudwatchlogs::Client::new(&account.config)
        .create_log_group()
        .log_group_name("/cut/api")
        .send()
        .await
        .expect("log group");
    common::hand_made_alarm(account, "cut-handmade").await;
}

/// What a baseline can leave in an account: alarm names, anomaly detectors, metric filters on
/// its log group, dashboards.
async fn baseline_leftovers(account: &Account) -> (BTreeSet<String>, usize, usize, usize) {
    let cw = aws_sdk_cloudwatch::Client::new(&account.observer());
    let names = common::alarm_names(account).await;
    let detectors = cw
        .describe_anomaly_detectors()
        .send()
        .await
        .expect("detectors")
        .anomaly_detectors()
        .len();
    let filters = aws_sdk_cloudwatchlogs::Client::new(&account.config)
        .describe_metric_filters()
        .log_group_name("/cut/api")
        .send()
        .await
        .expect("filters")
        .metric_filters()
        .len();
    let dashboards = cw
        .list_dashboards()
        .send()
        .await
        .expect("dashboards")
        .dashboard_entries()
        .len();
    (names, detectors, filters, dashboards)
}

/// A prod baseline cut off after its third alarm, and again after its first dashboard (every
/// alarm, the composite and the error filter made): the rollback removes all of it, detectors
/// included, and leaves the hand-made alarm under the same prefix.
#[tokio::test]
async fn an_alarm_baseline_cut_off_mid_create_leaves_nothing_after_the_rollback() {
    let props = baseline_props();
    for at in [CutAfter("PutMetricAlarm", 3), CutAfter("PutDashboard", 1)] {
        let cut = cut_off(
            "monitoring-provider",
            BASELINE,
            &props,
            at,
            baseline_account,
        )
        .await;
        let (made, ..) = baseline_leftovers(&cut.stage.account).await;
        assert!(made.len() >= 4, "{at:?}: made before the cut: {made:?}");

        cut.roll_back(BASELINE, &props).await;
        let handmade_only = (BTreeSet::from(["cut-handmade".to_owned()]), 0, 0, 0);
        assert_eq!(
            baseline_leftovers(&cut.stage.account).await,
            handmade_only,
            "{at:?}"
        );
    }
}

/// The same cut after the third alarm, then the retry: it adopts the alarms its request made
/// and completes the baseline, exactly once.
#[tokio::test]
async fn an_alarm_baseline_cut_off_mid_create_is_completed_by_the_retry() {
    let props = baseline_props();
    let cut = cut_off(
        "monitoring-provider",
        BASELINE,
        &props,
        CutAfter("PutMetricAlarm", 3),
        baseline_account,
    )
    .await;
    let put = cut.retry().await;
    let (names, detectors, filters, dashboards) = baseline_leftovers(&cut.stage.account).await;
    let count: usize = put.data("AlarmCount").parse().expect("AlarmCount");
    let prefix = put.data("AlarmNamePrefix");
    assert!(names.contains("cut-handmade"), "{names:?}");
    assert!(names.contains(put.data("CompositeAlarmName")), "{names:?}");
    let made: Vec<&String> = names
        .iter()
        .filter(|n| n.as_str() != "cut-handmade")
        .collect();
    // The metric alarms the count names, plus the composite; all under the prefix, none twice.
    assert_eq!(made.len(), count + 1, "{names:?}");
    assert!(made.iter().all(|n| n.starts_with(prefix)), "{names:?}");
    assert!(detectors >= 1, "prod's anomaly bands");
    assert_eq!((filters, dashboards), (1, 2));
}

const TOPIC: &str = "Custom::AlertTopic";

fn topic_props() -> Value {
    let queue = |name: &str| format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    json!({"Environment": "qa", "TopicName": "cut-alerts", "KmsKeyArn": "alias/cut-alerts",
        "Subscriptions": [{"Protocol": "sqs", "Endpoint": queue("one")}, {"Protocol": "sqs", "Endpoint": queue("two")}]})
}

/// Topic names and subscription endpoints in the account.
async fn topics_and_subscriptions(account: &Account) -> (usize, Vec<String>) {
    let sns = aws_sdk_sns::Client::new(&account.config);
    let topics = sns
        .list_topics()
        .send()
        .await
        .expect("topics")
        .topics()
        .len();
    let mut endpoints: Vec<String> = sns
        .list_subscriptions()
        .send()
        .await
        .expect("subscriptions")
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint().map(str::to_owned))
        .collect();
    endpoints.sort();
    (topics, endpoints)
}

/// An AlertTopic cut off after its first subscription: the rollback removes the topic and the
/// subscription with it; the retry keeps the topic and adds only the missing subscription.
#[tokio::test]
async fn an_alert_topic_cut_off_mid_create_is_retried_or_rolled_back_without_orphans() {
    let props = topic_props();
    let queues: Vec<String> = props["Subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Endpoint"].as_str().map(str::to_owned))
        .collect();
    for retried in [true, false] {
        let cut = cut_off(
            "monitoring-provider",
            TOPIC,
            &props,
            CutAfter("Subscribe", 1),
            nothing_to_prepare,
        )
        .await;
        let account = &cut.stage.account;
        assert_eq!(
            topics_and_subscriptions(account).await,
            (1, queues[..1].to_vec()),
            "made before the cut"
        );
        if retried {
            cut.retry().await;
            assert_eq!(topics_and_subscriptions(account).await, (1, queues.clone()));
        } else {
            cut.roll_back(TOPIC, &props).await;
            assert_eq!(topics_and_subscriptions(account).await, (0, Vec::new()));
        }
    }
}

/// The other side of the cleanup: a Create that failed because another stack already holds
/// the names (no fault at all) is rolled back without touching that stack's baseline or topic.
#[tokio::test]
async fn a_rolled_back_create_never_removes_what_another_stack_made() {
    let account = emulator().new_account().await;
    baseline_account(&account).await;
    let stage = Stage::start(
        account,
        "monitoring-provider",
        Injected::Proxied(Fault::Pass),
        &[],
    )
    .await;
    let other_stack = CfnEvents::new(stage.account.stack_id("other"), stage.listener.clone());
    for (resource_type, props) in [(BASELINE, baseline_props()), (TOPIC, topic_props())] {
        let (_, made) = stage
            .send(
                stage
                    .events
                    .create(resource_type, LOGICAL_ID, props.clone()),
            )
            .await;
        assert_eq!(made.status(), "SUCCESS", "{}", made.reason());
        let before = (
            baseline_leftovers(&stage.account).await,
            topics_and_subscriptions(&stage.account).await,
        );

        let (_, refused) = stage
            .send(other_stack.create(resource_type, LOGICAL_ID, props.clone()))
            .await;
        assert_eq!(refused.status(), "FAILED", "the names are taken");
        let rollback = other_stack.delete(resource_type, LOGICAL_ID, refused.physical_id(), props);
        let (_, rolled_back) = stage.send(rollback).await;
        assert_eq!(rolled_back.status(), "SUCCESS", "{}", rolled_back.reason());
        let after = (
            baseline_leftovers(&stage.account).await,
            topics_and_subscriptions(&stage.account).await,
        );
        assert_eq!(
            after, before,
            "{resource_type}: the first stack's resources"
        );
    }
}

/// The literal case: the emulator process is killed (SIGKILL) while a qa KmsKeySet Create is
/// under way, right after main's CreateKey. It runs on a private emulator, so the rest of this
/// binary keeps its own. Nothing can be checked in AWS afterwards (moto's state dies with it);
/// the function's side is: one FAILED, in time, naming the type and the call that failed.
#[tokio::test]
async fn a_key_set_whose_emulator_is_killed_mid_create_fails_once_in_time() {
    let private = tokio::task::spawn_blocking(Emulator::start)
        .await
        .expect("a private emulator");
    let account = private.new_account().await;
    let stage = Stage::start(account, "kms-provider", Injected::Proxied(Fault::Pass), &[]).await;
    let create = stage.events.create(
        KEY_SET,
        LOGICAL_ID,
        json!({"Environment": "qa", "Prefix": "killed"}),
    );
    let kill_after_create_key = async {
        while !stage.proxy.forwarded().iter().any(|c| c == "CreateKey") {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        private.kill();
    };
    let ((), (_, put)) = tokio::join!(
        kill_after_create_key,
        stage.send_answered_once(create, "emulator killed")
    );
    assert_eq!(put.status(), "FAILED", "{}", stage.function.output());
    assert!(put.reason().starts_with(KEY_SET), "{}", put.reason());
    assert!(
        put.physical_id().starts_with("stackhand:create-failed:"),
        "{}",
        put.physical_id()
    );
    println!(
        "cut-off | {KEY_SET} | emulator killed after CreateKey | {}",
        put.reason()
    );
}
