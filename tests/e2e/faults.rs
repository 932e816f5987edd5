//! Every function against every fault an AWS endpoint shows, through the fault proxy between
//! the real binary and the emulator: refused connections, a reset, silence, 500, 503,
//! throttling within the retry budget, and a response cut mid-way. Plus an emulator that dies
//! in the middle of a multi-call Create (a KmsKeySet), and the retried Create after it.
//!
//! Providers: exactly one response, before the deadline, every time; SUCCESS only when the
//! throttling stayed within the retry budget, and nothing left behind by a FAILED Create.
//! Event functions: a named error, and nothing published unless the work completed.

mod common;

use e2e::{
    Account, CfnEvents, Completion, Fault, FaultProxy, ResponseListener, RuntimeApi, binary,
    emulator,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The Lambda timeout the binaries see: short, so that silence hits the deadline guard
/// (about 2.4 s before it) rather than the SDK's 10 s attempt timeout.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(12);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Injected {
    /// Nothing listens on the endpoint.
    Refused,
    Proxied(Fault),
}

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

/// An endpoint nothing listens on: connections are refused.
fn dead_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    format!("http://127.0.0.1:{port}")
}

/// `binary_name` polling a fresh Runtime API, its AWS traffic through `proxy` (or refused).
fn spawn(
    account: &Account,
    api: &RuntimeApi,
    binary_name: &str,
    endpoint: &str,
    extra: &[(&str, &str)],
) -> e2e::FunctionProcess {
    let mut env = account.lambda_env();
    for (name, value) in &mut env {
        if name == "AWS_ENDPOINT_URL" {
            *value = endpoint.to_owned();
        }
    }
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    api.spawn(&binary("debug", binary_name), &env)
}

/// The endpoint the function is given, with the proxy set to inject `injected`.
fn endpoint_for(injected: Injected, proxy: &FaultProxy) -> String {
    match injected {
        Injected::Refused => dead_endpoint(),
        Injected::Proxied(fault) => {
            proxy.set(fault);
            proxy.endpoint.clone()
        }
    }
}

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
    let proxy = FaultProxy::start(&account.endpoint).await;
    let listener = ResponseListener::start().await;
    let events = CfnEvents::new(account.stack_id("faults"), listener.clone());
    let api = RuntimeApi::start().await;
    let function = spawn(
        &account,
        &api,
        binary_name,
        &endpoint_for(fault, &proxy),
        &[],
    );
    let (event, request_id) = events.create(resource_type, "Faulty", props.clone());
    let deadline = Instant::now() + LAMBDA_TIMEOUT;
    let completion = api.invoke(event, LAMBDA_TIMEOUT).await;
    let put = listener.response(&request_id, Duration::from_secs(1)).await;
    assert!(
        Instant::now() < deadline,
        "{binary_name} / {fault_name}: answered after the deadline"
    );
    // Nothing more may arrive after the one response.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        listener.puts(&request_id).len(),
        1,
        "{binary_name} / {fault_name}: exactly one response"
    );
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
        function.output()
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
            proxy.set(Fault::Pass);
            let (rollback, delete_id) =
                events.delete(resource_type, "Faulty", put.physical_id(), props);
            api.invoke(rollback, LAMBDA_TIMEOUT).await;
            let deleted = listener.response(&delete_id, Duration::from_secs(1)).await;
            assert_eq!(
                deleted.status(),
                "SUCCESS",
                "{binary_name} / {fault_name}: rollback"
            );
        }
    }
    (account, put.reason().to_owned())
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

/// One event-function invocation under one fault: a named error, or success within the
/// throttling budget; returns the operations that reached the emulator.
async fn event_case(
    account: &Account,
    binary_name: &str,
    extra: &[(&str, &str)],
    event: Value,
    fault_name: &str,
    fault: Injected,
    succeeds: bool,
) -> Vec<String> {
    let proxy = FaultProxy::start(&account.endpoint).await;
    let api = RuntimeApi::start().await;
    let function = spawn(
        account,
        &api,
        binary_name,
        &endpoint_for(fault, &proxy),
        extra,
    );
    let completion = api.invoke(event, LAMBDA_TIMEOUT).await;
    match (&completion, succeeds) {
        (Completion::Response(_), true) => {}
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
        }
        _ => panic!(
            "{binary_name} / {fault_name}: {completion:?}\n{}",
            function.output()
        ),
    }
    proxy.forwarded()
}

#[tokio::test]
async fn key_rotator_under_every_fault() {
    let scheduled =
        json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": "{}"});
    for (name, fault, succeeds) in FAULTS {
        let account = emulator().new_account().await;
        let key = common::kms::KmsView::new(&account.config)
            .create(common::kms::NewKey::default())
            .await;
        let calls = event_case(
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
            calls.iter().any(|c| c == "EnableKeyRotation"),
            succeeds,
            "{name}: {calls:?}"
        );
    }
}

#[tokio::test]
async fn key_auditor_under_every_fault() {
    let scheduled =
        json!({"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": "{}"});
    for (name, fault, succeeds) in FAULTS {
        let account = emulator().new_account().await;
        common::kms::KmsView::new(&account.config)
            .create(common::kms::NewKey::default())
            .await;
        let report = common::topic(&account, "audit").await;
        let env = [("REPORT_TOPIC_ARN", report.as_str())];
        let calls = event_case(
            &account,
            "key-auditor",
            &env,
            scheduled.clone(),
            name,
            fault,
            succeeds,
        )
        .await;
        let published = calls.iter().filter(|c| *c == "Publish").count();
        assert_eq!(published, usize::from(succeeds), "{name}: {calls:?}");
    }
}

#[tokio::test]
async fn alarm_router_under_every_fault() {
    let sample = std::fs::read_to_string(
        e2e::emulator::workspace_root().join("events/alarm-router/metric-alarm.json"),
    )
    .expect("sample");
    let event: Value = serde_json::from_str(&sample).expect("JSON");
    for (name, fault, succeeds) in FAULTS {
        let account = emulator().new_account().await;
        let alerts = common::topic(&account, "alerts").await;
        let env = [("ENVIRONMENT", "dev"), ("ALERT_TOPIC_ARN", alerts.as_str())];
        let calls = event_case(
            &account,
            "alarm-router",
            &env,
            event.clone(),
            name,
            fault,
            succeeds,
        )
        .await;
        let published = calls.iter().filter(|c| *c == "Publish").count();
        if fault == Injected::Proxied(Fault::DropMidResponse) {
            // SNS took each Publish but its answer was lost, so the SDK sent it again: the
            // notification goes out more than once (each copy with the same dedup_key
            // attribute) and the invocation still fails, as it cannot know.
            assert!(published >= 1, "{name}: {calls:?}");
        } else {
            assert_eq!(published, usize::from(succeeds), "{name}: {calls:?}");
        }
    }
}

/// The emulator goes away after the first key of a qa KmsKeySet (main, data) is made; the
/// Create fails in time. CloudFormation's retry of the same request, once AWS answers again,
/// finds the key already made by its request tag and alias: two keys in all, none orphaned.
#[tokio::test]
async fn a_key_set_cut_off_mid_create_is_completed_by_the_retry_without_orphans() {
    let account = emulator().new_account().await;
    let proxy = FaultProxy::start(&account.endpoint).await;
    let listener = ResponseListener::start().await;
    let events = CfnEvents::new(account.stack_id("cut"), listener.clone());
    let api = RuntimeApi::start().await;
    let function = spawn(&account, &api, "kms-provider", &proxy.endpoint, &[]);
    let props = json!({"Environment": "qa", "Prefix": "cut"});
    let (event, request_id) = events.create("Custom::KmsKeySet", "Keys", props);

    // main's four calls (alias check, CreateKey, EnableKeyRotation, CreateAlias), then nothing.
    proxy.set(Fault::DieAfter(4));
    api.invoke(event.clone(), LAMBDA_TIMEOUT).await;
    let first = listener.response(&request_id, Duration::from_secs(1)).await;
    assert_eq!(first.status(), "FAILED", "{}", function.output());
    let kms = common::kms::KmsView::new(&account.config);
    assert_eq!(
        kms.live_keys().await.len(),
        1,
        "main was made before the cut"
    );

    proxy.set(Fault::Pass);
    let retried_id = format!("{request_id}-retry");
    let mut retry = event.clone();
    retry["ResponseURL"] = json!(listener.url(&retried_id));
    api.invoke(retry, LAMBDA_TIMEOUT).await;
    let second = listener.response(&retried_id, Duration::from_secs(1)).await;
    assert_eq!(
        second.status(),
        "SUCCESS",
        "{}\n{}",
        second.reason(),
        function.output()
    );
    let keys = kms.live_keys().await;
    assert_eq!(keys.len(), 2, "main reused, data made: {keys:?}");
    for alias in ["alias/cut-main", "alias/cut-data"] {
        assert!(kms.alias_target(alias).await.is_some(), "{alias}");
    }
}

/// The same cut, then CloudFormation's rollback: the Delete of the marker id finds the key the
/// failed Create made by its request tag and schedules its deletion (qa: 14 days).
#[tokio::test]
async fn a_key_set_cut_off_mid_create_leaves_nothing_after_the_rollback() {
    let account = emulator().new_account().await;
    let proxy = FaultProxy::start(&account.endpoint).await;
    let listener = ResponseListener::start().await;
    let events = CfnEvents::new(account.stack_id("rolled"), listener.clone());
    let api = RuntimeApi::start().await;
    let function = spawn(&account, &api, "kms-provider", &proxy.endpoint, &[]);
    let props = json!({"Environment": "qa", "Prefix": "rolled"});
    let (event, request_id) = events.create("Custom::KmsKeySet", "Keys", props.clone());
    // Cut after CreateKey of main: the key exists, its alias does not.
    proxy.set(Fault::DieAfter(2));
    api.invoke(event, LAMBDA_TIMEOUT).await;
    let failed = listener.response(&request_id, Duration::from_secs(1)).await;
    assert_eq!(failed.status(), "FAILED", "{}", function.output());
    let kms = common::kms::KmsView::new(&account.config);
    let made = kms.live_keys().await;
    assert_eq!(made.len(), 1, "CreateKey got through before the cut");

    proxy.set(Fault::Pass);
    let (rollback, delete_id) =
        events.delete("Custom::KmsKeySet", "Keys", failed.physical_id(), props);
    api.invoke(rollback, LAMBDA_TIMEOUT).await;
    let deleted = listener.response(&delete_id, Duration::from_secs(1)).await;
    assert_eq!(deleted.status(), "SUCCESS", "{}", function.output());
    assert!(kms.live_keys().await.is_empty(), "no key left live");
    assert_eq!(kms.pending_days(&made[0]).await, 14, "qa's pending window");
}
