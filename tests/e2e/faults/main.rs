//! Every function against every fault an AWS endpoint shows, through the fault proxy between
//! the real binary and the emulator: refused connections, a reset, silence, 500, 503,
//! throttling within the retry budget, and a response cut mid-way. `cut_off` adds an emulator
//! that dies in the middle of each multi-call Create, then the retry or the rollback.
//!
//! Providers: exactly one response, before the deadline, every time; SUCCESS only when the
//! throttling stayed within the retry budget, and nothing left behind by a FAILED Create.
//! Event functions: a named error, and nothing published unless the work completed.

mod cancelled;
#[path = "../common/mod.rs"]
mod common;
mod cut_off;
mod monitoring_types;
mod one_service;
mod stage;
mod update_delete;

use e2e::{Account, Completion, Fault, emulator};
use serde_json::{Value, json};
use stage::{Injected, LAMBDA_TIMEOUT, LOGICAL_ID, Stage};

/// Each fault, and whether the work should still succeed.
const FAULTS: [(&str, Injected, bool); 7] = [
    ("refused", Injected::Refused, false),
    ("reset", Injected::Proxied(Fault::Reset), false),
    ("silent", Injected::Proxied(Fault::Hang), false),
    ("500", Injected::Proxied(Fault::Status(500)), false),
    ("503", Injected::Proxied(Fault::Status(503)), false),
    (
        "throttled twice",
        Injected::Proxied(Fault::Throttle(2)),
        true,
    ),
    (
        "cut mid-response",
        Injected::Proxied(Fault::DropMidResponse),
        false,
    ),
];

/// One provider Create under one fault: exactly one response, before the deadline. A FAILED
/// Create is then rolled back as CloudFormation does, once AWS answers again: the Delete of its
/// marker id succeeds and removes whatever the Create had made before the fault.
async fn provider_case(
    binary_name: &str,
    resource_type: &str,
    props: Value,
    fault_name: &str,
    fault: Injected,
    succeeds: bool,
) -> (Account, String) {
    let account = emulator().new_account().await;
    provider_case_in(
        account,
        binary_name,
        resource_type,
        props,
        fault_name,
        fault,
        succeeds,
    )
    .await
}

/// [`provider_case`] in an account the caller prepared (a log group a filter needs, the child
/// alarm of a composite).
async fn provider_case_in(
    account: Account,
    binary_name: &str,
    resource_type: &str,
    props: Value,
    fault_name: &str,
    fault: Injected,
    succeeds: bool,
) -> (Account, String) {
    let stage = Stage::start(account, binary_name, fault, &[]).await;
    let create = stage
        .events
        .create(resource_type, LOGICAL_ID, props.clone());
    let (completion, put) = stage
        .send_answered_once(create, &format!("{binary_name} / {fault_name}"))
        .await;
    assert!(
        matches!(completion, Completion::Response(_)),
        "{binary_name} / {fault_name}: {completion:?}"
    );
    let expected = if succeeds { "SUCCESS" } else { "FAILED" };
    assert_eq!(
        put.status(),
        expected,
        "{binary_name} / {fault_name}: {}\n{}",
        put.reason(),
        stage.function.output()
    );
    println!(
        "fault-table | {binary_name} | {fault_name} | {} | {}",
        put.status(),
        put.reason()
    );
    if !succeeds {
        assert!(
            put.reason().starts_with(resource_type),
            "{binary_name} / {fault_name}: the reason names the type: {}",
            put.reason()
        );
        assert!(
            put.physical_id().starts_with("stackhand:create-failed:"),
            "{binary_name} / {fault_name}: {}",
            put.physical_id()
        );
        assert!(!put.reason().is_empty());
        if fault != Injected::Refused {
            let deleted = stage.roll_back(resource_type, &put, props).await;
            assert_eq!(
                deleted.status(),
                "SUCCESS",
                "{binary_name} / {fault_name}: rollback"
            );
        }
    }
    (stage.account.clone(), put.reason().to_owned())
}

#[tokio::test]
async fn kms_key_create_under_every_fault() {
    for (name, fault, succeeds) in FAULTS {
        let props = json!({"Environment": "dev", "Aliases": [format!("faults-{}", name.replace(' ', "-"))]});
        let (account, _) = provider_case(
            "kms-provider",
            "Custom::KmsKey",
            props,
            name,
            fault,
            succeeds,
        )
        .await;
        let keys = common::kms::KmsView::new(&account.config).live_keys().await;
        assert_eq!(
            keys.len(),
            usize::from(succeeds),
            "{name}: keys left {keys:?}"
        );
    }
}

#[tokio::test]
async fn log_group_create_under_every_fault() {
    for (name, fault, succeeds) in FAULTS {
        let props = json!({"Environment": "dev", "LogGroupName": "/faults/app"});
        let (account, _) = provider_case(
            "monitoring-provider",
            "Custom::LogGroup",
            props,
            name,
            fault,
            succeeds,
        )
        .await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&account.config);
        let groups = logs.describe_log_groups().send().await.expect("describe");
        assert_eq!(groups.log_groups().len(), usize::from(succeeds), "{name}");
    }
}

#[tokio::test]
async fn ecs_cluster_create_under_every_fault() {
    for (name, fault, succeeds) in FAULTS {
        let props = json!({"Environment": "dev", "ClusterName": "faults"});
        let (account, _) = provider_case(
            "ecs-provider",
            "Custom::EcsCluster",
            props,
            name,
            fault,
            succeeds,
        )
        .await;
        let ecs = aws_sdk_ecs::Client::new(&account.config);
        let clusters = ecs.list_clusters().send().await.expect("list");
        assert_eq!(
            clusters.cluster_arns().len(),
            usize::from(succeeds),
            "{name}"
        );
    }
}

/// What one event-function invocation did.
struct EventRun {
    /// The operations that reached the emulator, in order.
    calls: Vec<String>,
    /// The error message, when it failed.
    error: String,
}

impl EventRun {
    fn count(&self, operation: &str) -> usize {
        self.calls.iter().filter(|c| *c == operation).count()
    }
}

/// One event-function invocation under one fault: a named error, or success within the
/// throttling budget.
async fn event_case(
    account: &Account,
    binary_name: &str,
    extra: &[(&str, &str)],
    event: Value,
    fault_name: &str,
    fault: Injected,
    succeeds: bool,
) -> EventRun {
    let stage = Stage::start(account.clone(), binary_name, fault, extra).await;
    let completion = stage.api.invoke(event, LAMBDA_TIMEOUT).await;
    let error = match (&completion, succeeds) {
        (Completion::Response(_), true) => String::new(),
        (Completion::Error(error), false) => {
            let message = error["errorMessage"].as_str().unwrap_or_default();
            println!(
                "fault-table | {binary_name} | {fault_name} | {} | {message}",
                error["errorType"]
            );
            assert!(
                !message.is_empty() && error["errorType"].as_str().is_some_and(|t| !t.is_empty()),
                "{binary_name} / {fault_name}: unnamed error {error}"
            );
            message.to_owned()
        }
        _ => panic!(
            "{binary_name} / {fault_name}: {completion:?}\n{}",
            stage.function.output()
        ),
    };
    EventRun {
        calls: stage.proxy.forwarded(),
        error,
    }
}

fn scheduled() -> Value {
    json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": "{}"})
}

/// The sample "CloudWatch Alarm State Change" event.
fn alarm_event() -> Value {
    let sample = std::fs::read_to_string(
        e2e::emulator::workspace_root().join("events/alarm-router/metric-alarm.json"),
    )
    .expect("sample");
    serde_json::from_str(&sample).expect("JSON")
}

#[tokio::test]
async fn key_rotator_under_every_fault() {
    let scheduled = scheduled();
    for (name, fault, succeeds) in FAULTS {
        let account = emulator().new_account().await;
        let key = common::kms::KmsView::new(&account.config)
            .create(common::kms::NewKey::default())
            .await;
        let run = event_case(
            &account,
            "key-rotator",
            &[],
            scheduled.clone(),
            name,
            fault,
            succeeds,
        )
        .await;
        let rotated = common::kms::KmsView::new(&account.config)
            .rotation_enabled(&key)
            .await;
        assert_eq!(
            rotated, succeeds,
            "{name}: rotation enabled only by a run that completed"
        );
        assert_eq!(
            run.count("EnableKeyRotation") > 0,
            succeeds,
            "{name}: {:?}",
            run.calls
        );
    }
}

/// key-auditor over one key in a fresh account, reporting to a topic there.
async fn audit_under(label: &str, fault: Injected, succeeds: bool) -> EventRun {
    let account = emulator().new_account().await;
    common::kms::KmsView::new(&account.config)
        .create(common::kms::NewKey::default())
        .await;
    let report = common::topic(&account, "audit").await;
    let env = [("REPORT_TOPIC_ARN", report.as_str())];
    event_case(
        &account,
        "key-auditor",
        &env,
        scheduled(),
        label,
        fault,
        succeeds,
    )
    .await
}

/// alarm-router (dev) routing the sample alarm event in a fresh account.
async fn route_under(label: &str, fault: Injected, succeeds: bool) -> EventRun {
    let account = emulator().new_account().await;
    let alerts = common::topic(&account, "alerts").await;
    let env = [("ENVIRONMENT", "dev"), ("ALERT_TOPIC_ARN", alerts.as_str())];
    event_case(
        &account,
        "alarm-router",
        &env,
        alarm_event(),
        label,
        fault,
        succeeds,
    )
    .await
}

#[tokio::test]
async fn key_auditor_under_every_fault() {
    for (name, fault, succeeds) in FAULTS {
        let run = audit_under(name, fault, succeeds).await;
        assert_eq!(
            run.count("Publish"),
            usize::from(succeeds),
            "{name}: {:?}",
            run.calls
        );
    }
}

#[tokio::test]
async fn alarm_router_under_every_fault() {
    for (name, fault, succeeds) in FAULTS {
        let run = route_under(name, fault, succeeds).await;
        let published = run.count("Publish");
        if fault == Injected::Proxied(Fault::DropMidResponse) {
            // SNS took each Publish but its answer was lost, so the SDK sent it again: the
            // notification goes out more than once (each copy with the same dedup_key
            // attribute) and the invocation still fails, as it cannot know.
            assert!(published >= 1, "{name}: {:?}", run.calls);
        } else {
            assert_eq!(published, usize::from(succeeds), "{name}: {:?}", run.calls);
        }
    }
}
