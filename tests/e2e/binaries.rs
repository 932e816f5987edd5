//! The real binaries under a local Lambda Runtime API, as Lambda runs them.

mod common;

use common::LOG_GROUP;
use e2e::{
    Account, CfnEvents, Completion, FunctionProcess, ResponseListener, RuntimeApi,
    SECRET_SIGNATURE, binary, emulator,
};
use serde_json::json;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh account, a listener, and `binary` (a debug build) polling a local Runtime API with
/// the account's credentials and `AWS_ENDPOINT_URL`, less the variables named in `without`.
async fn start(
    binary_name: &str,
    without: &[&str],
) -> (
    Account,
    ResponseListener,
    CfnEvents,
    RuntimeApi,
    FunctionProcess,
) {
    let account = emulator().new_account().await;
    let listener = ResponseListener::start().await;
    let events = CfnEvents::new(account.stack_id("bin"), listener.clone());
    let api = RuntimeApi::start().await;
    let env: Vec<(String, String)> = account
        .lambda_env()
        .into_iter()
        .filter(|(k, _)| !without.contains(&k.as_str()))
        .collect();
    let function = api.spawn(&binary("debug", binary_name), &env);
    (account, listener, events, api, function)
}

#[tokio::test]
async fn the_provider_binary_honours_aws_endpoint_url() {
    let (account, listener, events, api, function) = start("monitoring-provider", &[]).await;
    let (event, request_id) = events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/from/binary"}),
    );
    let completion = api.invoke(event, TIMEOUT).await;
    assert!(
        matches!(completion, Completion::Response(_)),
        "{completion:?}"
    );
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(
        put.status(),
        "SUCCESS",
        "{}\n{}",
        put.reason(),
        function.output()
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.config);
    let groups = logs.describe_log_groups().send().await.expect("describe");
    assert_eq!(
        groups.log_groups().len(),
        1,
        "created in the emulator account"
    );

    let output = function.output();
    assert!(!output.contains(SECRET_SIGNATURE), "{output}");
    for line in output.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON: {line}"
        );
    }
}

#[tokio::test]
async fn the_ecs_provider_binary_serves_its_type_and_only_its_type() {
    let (_account, listener, events, api, function) = start("ecs-provider", &[]).await;
    let (event, request_id) = events.create(
        "Custom::EcsCluster",
        "Cluster",
        json!({"Environment": "qa", "ClusterName": "from-binary"}),
    );
    api.invoke(event, TIMEOUT).await;
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(
        put.status(),
        "SUCCESS",
        "{}\n{}",
        put.reason(),
        function.output()
    );
    assert_eq!(put.data("ClusterName"), "from-binary");

    let (event, request_id) = events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/x"}),
    );
    api.invoke(event, TIMEOUT).await;
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "FAILED");
    assert_eq!(
        put.reason(),
        "ecs-provider serves Custom::EcsCluster; it cannot handle ResourceType Custom::LogGroup"
    );
}

#[tokio::test]
async fn the_kms_provider_binary_creates_and_schedules_a_key() {
    let (account, listener, events, api, function) = start("kms-provider", &[]).await;
    let props = json!({"Environment": "dev", "Aliases": ["from-binary"]});
    let (event, request_id) = events.create("Custom::KmsKey", "Key", props.clone());
    api.invoke(event, TIMEOUT).await;
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(
        put.status(),
        "SUCCESS",
        "{}\n{}",
        put.reason(),
        function.output()
    );
    let key_id = put.physical_id().to_owned();
    assert_eq!(put.data("AliasNames"), "alias/from-binary");

    let (event, request_id) = events.delete("Custom::KmsKey", "Key", &key_id, props);
    api.invoke(event, TIMEOUT).await;
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let kms = aws_sdk_kms::Client::new(&account.config);
    let key = kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .expect("describe")
        .key_metadata
        .expect("metadata");
    assert_eq!(
        key.key_state(),
        Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
    );
    assert!(!function.output().contains(SECRET_SIGNATURE));
}

/// The sample events of an event function, each run through the real binary.
/// key-auditor's sample of a unit from the Organization run's queue: run only where one is set up.
const ORGANIZATION_SAMPLE: &str = "audit-unit";

fn organization_run(env: &[(String, String)]) -> bool {
    env.iter().any(|(name, _)| name == "AUDIT_ACCOUNTS")
}

async fn run_samples(binary_name: &str, extra_env: &[(&str, &str)]) -> Vec<(String, Completion)> {
    run_samples_in(&emulator().new_account().await, binary_name, extra_env).await
}

async fn run_samples_in(
    account: &Account,
    binary_name: &str,
    extra_env: &[(&str, &str)],
) -> Vec<(String, Completion)> {
    let api = RuntimeApi::start().await;
    let mut env = account.lambda_env();
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let _function = api.spawn(&binary("debug", binary_name), &env);
    let dir = e2e::emulator::workspace_root()
        .join("events")
        .join(binary_name);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("samples")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| organization_run(&env) == name.starts_with(ORGANIZATION_SAMPLE))
        .collect();
    names.sort();
    let mut results = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).expect("sample");
        let event: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        results.push((name, api.invoke(event, TIMEOUT).await));
    }
    results
}

#[tokio::test]
async fn the_scheduled_binaries_answer_every_sample_event() {
    for (binary_name, field) in [("key-rotator", "actions"), ("key-auditor", "findings")] {
        let results = run_samples(binary_name, &[("DRY_RUN", "true")]).await;
        assert!(results.len() >= 3, "{binary_name}: {}", results.len());
        for (name, completion) in results {
            let Completion::Response(report) = completion else {
                panic!("{binary_name} {name}: {completion:?}");
            };
            assert!(report[field].is_array(), "{binary_name} {name}: {report}");
        }
    }
}

#[tokio::test]
async fn the_key_auditor_binary_answers_a_queued_unit_of_an_organization_run() {
    let account = emulator().new_account().await;
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let queue = sqs
        .create_queue()
        .queue_name("audit-units")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let table = common::audit_runs_table(&account).await;
    let env = [
        ("AUDIT_ACCOUNTS", account.id.as_str()),
        ("AUDIT_EXTERNAL_ID", "sample-external-id-0001"),
        ("AUDIT_QUEUE_URL", queue.as_str()),
        ("AUDIT_RUNS_TABLE", table.as_str()),
    ];
    let results = run_samples_in(&account, "key-auditor", &env).await;
    let names: Vec<&str> = results.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["audit-unit.json"]);
    let Completion::Response(answer) = &results[0].1 else {
        panic!("{results:?}");
    };
    // The sample's account has no member role here: reported, not retried.
    assert_eq!(answer, &serde_json::json!({"batchItemFailures": []}));
}

#[tokio::test]
async fn the_drift_detector_binary_answers_every_sample_event() {
    let account = emulator().new_account().await;
    let records = common::records_table(&account).await;
    let results = run_samples_in(
        &account,
        "drift-detector",
        &[("RECORDS_TABLE", records.table())],
    )
    .await;
    assert_eq!(results.len(), 3);
    for (name, completion) in results {
        let Completion::Response(report) = completion else {
            panic!("drift-detector {name}: {completion:?}");
        };
        assert!(report["drifted"].is_array(), "{name}: {report}");
        assert_eq!(report["resourcesChecked"], 0, "{name}: {report}");
    }
    for (name, completion) in run_samples_in(&account, "drift-detector", &[]).await {
        let Completion::Error(error) = completion else {
            panic!("{name} without RECORDS_TABLE: {completion:?}");
        };
        assert_eq!(
            error["errorMessage"], "RECORDS_TABLE must be set",
            "{error}"
        );
    }
}

#[tokio::test]
async fn the_alarm_router_binary_answers_every_sample_event() {
    let account = emulator().new_account().await;
    let sns = aws_sdk_sns::Client::new(&account.config);
    let topic = sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    let env = [("ENVIRONMENT", "prod"), ("ALERT_TOPIC_ARN", topic.as_str())];
    let results = run_samples_in(&account, "alarm-router", &env).await;
    assert_eq!(results.len(), 9);
    for (name, completion) in results {
        let Completion::Response(output) = completion else {
            panic!("alarm-router {name}: {completion:?}");
        };
        // The settle check's alarm does not exist in this account: nothing to settle.
        let expected = if name.contains("suppressed")
            || name.contains("-to-ok")
            || name == "settle-check.json"
        {
            "suppressed"
        } else {
            "published"
        };
        assert_eq!(output["action"], expected, "{name}: {output}");
    }
}

#[tokio::test]
async fn a_bad_setting_fails_each_invocation_with_its_name() {
    let results = run_samples("key-auditor", &[("CONCURRENCY", "0")]).await;
    for (name, completion) in results {
        let Completion::Error(error) = completion else {
            panic!("{name}: {completion:?}");
        };
        assert_eq!(error["errorType"], "Stackhand.SetupFailed", "{error}");
        assert_eq!(
            error["errorMessage"],
            "CONCURRENCY must be a whole number from 1 to 64, got \"0\""
        );
    }
}

#[tokio::test]
async fn a_binary_without_a_region_still_answers_failed() {
    let (_account, listener, events, api, _function) =
        start("monitoring-provider", &["AWS_REGION"]).await;
    let (event, request_id) = events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/noregion"}),
    );
    api.invoke(event, TIMEOUT).await;
    let put = listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .starts_with("monitoring-provider could not start: no AWS region"),
        "{}",
        put.reason()
    );
}

/// The release-built panicking example under a local Runtime API, with `extra` in its env.
async fn panicking_example(
    extra: &[(&str, &str)],
) -> (ResponseListener, CfnEvents, RuntimeApi, FunctionProcess) {
    let listener = ResponseListener::start().await;
    let events = CfnEvents::new(
        "arn:aws:cloudformation:us-east-1:123456789012:stack/p/1".into(),
        listener.clone(),
    );
    let api = RuntimeApi::start().await;
    let env: Vec<(String, String)> = [("AWS_REGION", "us-east-1")]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let function = api.spawn(&binary("release/examples", "panicking-provider"), &env);
    (listener, events, api, function)
}

/// Sends a Create through the Runtime API; the function must complete it and answer FAILED.
async fn failed_reason(
    api: &RuntimeApi,
    listener: &ResponseListener,
    events: &CfnEvents,
    logical_id: &str,
) -> String {
    let (event, request_id) = events.create("Custom::Panic", logical_id, json!({}));
    let completion = api.invoke(event, Duration::from_secs(10)).await;
    assert!(
        matches!(completion, Completion::Response(_)),
        "{completion:?}"
    );
    let put = listener
        .response(&request_id, Duration::from_secs(10))
        .await;
    assert_eq!(put.status(), "FAILED");
    put.reason().to_owned()
}

#[tokio::test]
async fn a_panic_in_a_release_build_answers_failed_and_the_function_keeps_serving() {
    let (listener, events, api, function) = panicking_example(&[]).await;
    for attempt in 0..2 {
        let logical_id = format!("Boom{attempt}");
        assert_eq!(
            failed_reason(&api, &listener, &events, &logical_id).await,
            format!(
                "Custom::Panic: internal error in panicking-provider (deliberate panic while handling {logical_id}); nothing further was done"
            )
        );
    }
    assert!(
        function.output().contains("\"panic\""),
        "the panic is logged as JSON:\n{}",
        function.output()
    );
}

#[tokio::test]
async fn a_panic_while_building_the_clients_answers_failed_on_every_event() {
    let (listener, events, api, _function) = panicking_example(&[("PANIC_IN_SETUP", "1")]).await;
    for attempt in 0..2 {
        assert_eq!(
            failed_reason(&api, &listener, &events, &format!("Setup{attempt}")).await,
            "panicking-provider could not start: client setup panicked: deliberate panic while building the clients"
        );
    }
}

#[test]
fn the_release_profile_unwinds_on_panic() {
    let manifest = std::fs::read_to_string(e2e::emulator::workspace_root().join("Cargo.toml"))
        .expect("Cargo.toml");
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a [profile.release] section");
    let section = release.split("\n[").next().unwrap_or_default();
    assert!(
        section.contains("panic = \"unwind\""),
        "cargo-lambda would default to abort:\n{section}"
    );
}

/// The scan every FunctionProcess gets when dropped: a process that prints its environment
/// (credentials and a ResponseURL signature) is caught.
#[tokio::test]
async fn the_log_scan_catches_credentials_and_the_signature() {
    let account = emulator().new_account().await;
    let api = RuntimeApi::start().await;
    let mut env = account.lambda_env();
    env.push((
        "LEAKED_URL".into(),
        format!("X-Amz-Signature={SECRET_SIGNATURE}"),
    ));
    let printer = api.spawn(std::path::Path::new("/usr/bin/env"), &env);
    let give_up = tokio::time::Instant::now() + TIMEOUT;
    while !printer.output().contains("LEAKED_URL") && tokio::time::Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leaks = printer.leaks();
    assert!(leaks.iter().any(|l| l.contains("signature")), "{leaks:?}");
    assert_eq!(
        leaks.iter().filter(|l| l.contains("credential (")).count(),
        3,
        "{leaks:?}"
    );
    // Cleared, so that dropping it does not fail this test.
    printer.output.lock().expect("lock").clear();
}
