//! One test or more per protocol rule of docs/contract.md, driven end to end against the emulator.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use common::{Fixture, LOG_GROUP, TIMEOUT, key_arn};
use e2e::{
    CfnEvents, ResponseListener, SECRET_CREDENTIAL, SECRET_SIGNATURE, emulator, invoke_in_process,
};
use monitoring_provider::MonitoringProvider;
use serde_json::json;
use shared::cfn::MAX_RESPONSE_BYTES;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Creates and expects FAILED with the marker id; returns the response.
async fn failed_create(
    fx: &Fixture,
    resource_type: &str,
    props: serde_json::Value,
) -> e2e::RecordedPut {
    let event = fx.events.create(resource_type, "Logs", props);
    let request_id = event.1.clone();
    let put = fx.send(event).await;
    assert_eq!(put.status(), "FAILED", "{:?}", put.body);
    assert_eq!(
        put.physical_id(),
        format!("stackhand:create-failed:{request_id}")
    );
    put
}

/// A provider whose AWS endpoint is `endpoint`; any AWS call goes there.
async fn provider_at(endpoint: &str) -> Result<MonitoringProvider, String> {
    let account = emulator().new_account().await;
    let config = account.config.to_builder().endpoint_url(endpoint).build();
    Ok(MonitoringProvider::new(&config))
}

#[tokio::test]
async fn an_error_answers_failed_with_the_reason_and_the_marker_id() {
    let fx = Fixture::new().await;
    let reason = failed_create(
        &fx,
        LOG_GROUP,
        json!({"Environment": "qa", "LogGroupName": "/qa/app"}),
    )
    .await
    .reason()
    .to_owned();
    assert_eq!(
        reason,
        "Custom::LogGroup: KmsKeyArn is required when Environment is qa: that profile requires log encryption with KMS"
    );
    assert_eq!(
        fx.group_count().await,
        0,
        "nothing may be created for bad input"
    );
}

#[tokio::test]
async fn a_delete_carrying_the_marker_of_an_undecodable_create_succeeds_without_any_aws_call() {
    // Every AWS call from this provider would be refused, so success proves none was made.
    let closed = format!("http://127.0.0.1:{}", e2e::emulator::free_port());
    let fx = Fixture::new().await;
    let provider = provider_at(&closed).await;
    let (event, request_id) = fx.events.delete(
        LOG_GROUP,
        "Logs",
        "stackhand:create-failed:abc",
        json!({"Colour": "x"}),
    );
    let started = Instant::now();
    invoke_in_process(&provider, event, TIMEOUT)
        .await
        .expect("answered");
    let put = fx.listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "stackhand:create-failed:abc");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn an_unknown_property_fails_and_is_named() {
    let fx = Fixture::new().await;
    let reason = failed_create(
        &fx,
        LOG_GROUP,
        json!({"Environment": "dev", "LogGroupName": "/a", "Retention": "7"}),
    )
    .await
    .reason()
    .to_owned();
    assert!(
        reason.starts_with("Custom::LogGroup: Retention is not a known property; allowed: "),
        "{reason}"
    );
}

#[tokio::test]
async fn a_bad_value_fails_and_names_property_value_and_allowed_range() {
    let fx = Fixture::new().await;
    let reason = failed_create(
        &fx,
        LOG_GROUP,
        json!({"Environment": "dev", "LogGroupName": "/a", "RetentionInDays": "31"}),
    )
    .await
    .reason()
    .to_owned();
    assert!(
        reason.starts_with("Custom::LogGroup: RetentionInDays must be one of 1, 3, 5, 7"),
        "{reason}"
    );
    assert!(reason.ends_with("got 31"), "{reason}");
    let reason = failed_create(
        &fx,
        LOG_GROUP,
        json!({"Environment": "dev", "LogGroupName": "/a", "RetainOnDelete": "maybe"}),
    )
    .await
    .reason()
    .to_owned();
    assert_eq!(
        reason,
        "Custom::LogGroup: RetainOnDelete must be a boolean (true or false), got \"maybe\""
    );
}

#[tokio::test]
async fn a_bad_environment_fails_and_lists_the_environments() {
    let fx = Fixture::new().await;
    let reason = failed_create(
        &fx,
        LOG_GROUP,
        json!({"Environment": "staging", "LogGroupName": "/a"}),
    )
    .await
    .reason()
    .to_owned();
    assert_eq!(
        reason,
        "Custom::LogGroup: Environment must be one of dev, qa, uat, prod, got \"staging\""
    );
    let reason = failed_create(&fx, LOG_GROUP, json!({"LogGroupName": "/a"}))
        .await
        .reason()
        .to_owned();
    assert_eq!(reason, "Custom::LogGroup: Environment is required");
}

#[tokio::test]
async fn an_unknown_resource_type_fails_and_names_the_served_types() {
    let fx = Fixture::new().await;
    let reason = failed_create(&fx, "Custom::Bucket", json!({"Environment": "dev"}))
        .await
        .reason()
        .to_owned();
    assert_eq!(
        reason,
        "monitoring-provider serves Custom::LogGroup, Custom::MetricAlarm, Custom::CompositeAlarm, Custom::Dashboard, Custom::MetricFilter, Custom::QueryDefinition, Custom::AlertTopic, Custom::AlarmBaseline; it cannot handle ResourceType Custom::Bucket"
    );
}

#[tokio::test]
async fn strings_for_numbers_and_booleans_are_accepted() {
    let fx = Fixture::new().await;
    let put = fx
        .send(fx.events.create(LOG_GROUP, "Logs", json!({"Environment": "dev", "LogGroupName": "/strings", "RetentionInDays": "30", "RetainOnDelete": "true"})))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(
        fx.group("/strings")
            .await
            .expect("created")
            .retention_in_days(),
        Some(30)
    );
    let put = fx
        .send(fx.events.create(LOG_GROUP, "Native", json!({"Environment": "dev", "LogGroupName": "/native", "RetentionInDays": 30, "RetainOnDelete": true})))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
}

#[tokio::test]
async fn a_create_delivered_twice_leaves_exactly_one_group() {
    let fx = Fixture::new().await;
    let (event, request_id) = fx.events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/twice"}),
    );
    let _ = invoke_in_process(&fx.provider, event.clone(), TIMEOUT).await;
    let _ = invoke_in_process(&fx.provider, event, TIMEOUT).await;
    let puts = fx.listener.puts(&request_id);
    assert_eq!(puts.len(), 2);
    for put in &puts {
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
        assert_eq!(put.physical_id(), "/twice");
    }
    assert_eq!(fx.group_count().await, 1);
    assert_eq!(
        fx.tags("/twice").await.get("stackhand:request-id"),
        Some(&request_id)
    );
}

#[tokio::test]
async fn the_put_has_no_content_type_and_a_content_length() {
    let fx = Fixture::new().await;
    let put = fx
        .send(fx.events.create(
            LOG_GROUP,
            "Logs",
            json!({"Environment": "dev", "LogGroupName": "/headers"}),
        ))
        .await;
    assert_eq!(put.method, "PUT");
    assert!(
        put.header("content-type").is_none_or(str::is_empty),
        "{:?}",
        put.headers
    );
    assert_eq!(
        put.header("content-length"),
        Some(put.raw_body.len().to_string().as_str())
    );
    for field in ["StackId", "RequestId", "LogicalResourceId"] {
        assert!(
            !put.body[field].as_str().unwrap_or_default().is_empty(),
            "{field}"
        );
    }
    assert_eq!(put.body["LogicalResourceId"], "Logs");
    assert_eq!(put.body["StackId"], fx.events.stack_id);
    assert!(put.body["Data"]["Arn"].is_string());
}

#[tokio::test]
async fn an_oversized_reason_is_truncated_and_the_body_stays_within_4096_bytes() {
    let fx = Fixture::new().await;
    let huge_type = format!("Custom::{}", "X".repeat(6000));
    let put = failed_create(&fx, &huge_type, json!({"Environment": "dev"})).await;
    let reason = put.reason();
    assert!(
        reason.ends_with("bytes]") && reason.contains("[Reason truncated from"),
        "{reason}"
    );
    assert!(
        put.raw_body.len() <= MAX_RESPONSE_BYTES,
        "{}",
        put.raw_body.len()
    );
}

#[tokio::test]
async fn a_hanging_endpoint_gets_failed_before_a_5s_deadline() {
    // Accepts connections and never answers.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", hanging.local_addr().expect("addr"));
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = held.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = hanging.accept().await {
            holder.lock().expect("lock").push(stream);
        }
    });
    let fx = Fixture::new().await;
    let provider = provider_at(&endpoint).await;
    let (event, request_id) = fx.events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/hang"}),
    );
    let started = Instant::now();
    let deadline = Duration::from_secs(5);
    let _ = invoke_in_process(&provider, event, deadline).await;
    let put = fx.listener.response(&request_id, deadline).await;
    let took = put.at - started;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .contains("did not finish before the Lambda timeout"),
        "{}",
        put.reason()
    );
    assert!(
        took < deadline,
        "FAILED arrived after the deadline: {took:?}"
    );
    assert!(
        took > Duration::from_secs(3),
        "the guard fired too early: {took:?}"
    );
    assert_eq!(
        fx.listener.puts(&request_id).len(),
        1,
        "exactly one response"
    );
}

#[tokio::test]
async fn a_refused_endpoint_gets_failed_with_the_cause() {
    let closed = format!("http://127.0.0.1:{}", e2e::emulator::free_port());
    let fx = Fixture::new().await;
    let provider = provider_at(&closed).await;
    let (event, request_id) = fx.events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/refused"}),
    );
    let _ = invoke_in_process(&provider, event, TIMEOUT).await;
    let put = fx.listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .starts_with("Custom::LogGroup: CreateLogGroup for /refused failed: "),
        "{}",
        put.reason()
    );
    assert!(
        put.reason().to_lowercase().contains("connect"),
        "{}",
        put.reason()
    );
}

#[tokio::test]
async fn a_failed_put_is_retried_until_cloudformation_accepts_it() {
    let fx = Fixture::new().await;
    fx.listener.answer_next_with(&[503, 500]);
    let put = fx
        .send(fx.events.create(
            LOG_GROUP,
            "Logs",
            json!({"Environment": "dev", "LogGroupName": "/retried"}),
        ))
        .await;
    assert_eq!(put.status(), "SUCCESS");
    let all = fx
        .listener
        .puts(put.body["RequestId"].as_str().unwrap_or_default());
    assert_eq!(
        all.iter().map(|p| p.status_sent).collect::<Vec<_>>(),
        [503, 500, 200]
    );
    assert!(
        all.iter().all(|p| p.raw_body == put.raw_body),
        "every retry carries the same body"
    );
}

#[tokio::test]
async fn a_setup_failure_at_init_still_answers_failed() {
    let fx = Fixture::new().await;
    let provider: Result<MonitoringProvider, String> =
        Err(shared::aws::AwsSetupError::NoRegion.to_string());
    let (event, request_id) = fx.events.create(
        LOG_GROUP,
        "Logs",
        json!({"Environment": "dev", "LogGroupName": "/init"}),
    );
    let _ = invoke_in_process(&provider, event, TIMEOUT).await;
    let put = fx.listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "FAILED");
    assert_eq!(
        put.reason(),
        "monitoring-provider could not start: no AWS region configured: set AWS_REGION (Lambda sets it)"
    );
    assert_eq!(
        put.physical_id(),
        format!("stackhand:create-failed:{request_id}")
    );
}

#[tokio::test]
async fn a_malformed_event_with_a_response_url_gets_failed() {
    let fx = Fixture::new().await;
    let (mut event, request_id) =
        fx.events
            .create(LOG_GROUP, "Logs", json!({"Environment": "dev"}));
    event["RequestType"] = json!("Upsert");
    let _ = invoke_in_process(&fx.provider, event, TIMEOUT).await;
    let put = fx.listener.response(&request_id, TIMEOUT).await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason().starts_with("malformed CloudFormation event"),
        "{}",
        put.reason()
    );
    assert!(!put.physical_id().is_empty());
}

#[tokio::test]
async fn an_event_that_is_not_a_custom_resource_event_is_an_error() {
    let fx = Fixture::new().await;
    let err = invoke_in_process(
        &fx.provider,
        json!({"detail-type": "Scheduled Event", "source": "aws.events"}),
        TIMEOUT,
    )
    .await
    .expect_err("not a custom resource event");
    assert!(err.to_string().contains("detail-type"), "{err}");
}

#[tokio::test]
async fn a_rollback_update_with_swapped_properties_restores_the_old_settings() {
    let fx = Fixture::new().await;
    let a = json!({"Environment": "dev", "LogGroupName": "/rollback", "RetentionInDays": 7});
    let b = json!({"Environment": "qa", "LogGroupName": "/rollback", "KmsKeyArn": key_arn(&fx.account), "Tags": [{"Key": "team", "Value": "core"}]});
    assert_eq!(
        fx.send(fx.events.create(LOG_GROUP, "Logs", a.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    let put = fx
        .send(
            fx.events
                .update(LOG_GROUP, "Logs", "/rollback", a.clone(), b.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let group = fx.group("/rollback").await.expect("exists");
    assert_eq!(group.retention_in_days(), Some(14));
    assert_eq!(group.kms_key_id(), Some(key_arn(&fx.account).as_str()));
    // CloudFormation rolls back with old and new swapped.
    let put = fx
        .send(fx.events.update(LOG_GROUP, "Logs", "/rollback", b, a))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "/rollback");
    let group = fx.group("/rollback").await.expect("exists");
    assert_eq!(group.retention_in_days(), Some(7));
    assert_eq!(group.kms_key_id(), None);
    assert!(!fx.tags("/rollback").await.contains_key("team"));
}

/// An Update that fails (a value CloudWatch Logs does not allow) keeps the physical id and
/// changes nothing; CloudFormation's rollback Update then carries the failed properties as the
/// old ones, which no longer decode, and still succeeds from the live group.
#[tokio::test]
async fn a_failed_update_then_its_rollback_leaves_the_group_as_it_was() {
    let fx = Fixture::new().await;
    let good =
        json!({"Environment": "dev", "LogGroupName": "/failed-update", "RetentionInDays": 30});
    let bad =
        json!({"Environment": "dev", "LogGroupName": "/failed-update", "RetentionInDays": 45});
    assert_eq!(
        fx.send(fx.events.create(LOG_GROUP, "Logs", good.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    let put = fx
        .send(fx.events.update(
            LOG_GROUP,
            "Logs",
            "/failed-update",
            good.clone(),
            bad.clone(),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(put.reason().contains("RetentionInDays"), "{}", put.reason());
    assert_eq!(put.physical_id(), "/failed-update");
    let put = fx
        .send(
            fx.events
                .update(LOG_GROUP, "Logs", "/failed-update", bad, good),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "/failed-update");
    let group = fx.group("/failed-update").await.expect("exists");
    assert_eq!(group.retention_in_days(), Some(30));
}

/// Collects log lines in memory, in the production JSON format.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_are_json_with_request_fields_and_never_hold_the_signature_or_the_event() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _guard =
        tracing::subscriber::set_default(shared::logging::subscriber(move || writer.clone()));

    let fx = Fixture::new().await;
    let marker = "a-property-value-that-must-not-be-logged";
    fx.listener.answer_next_with(&[503]);
    let ok = fx
        .send(fx.events.create(LOG_GROUP, "Logs", json!({"Environment": "dev", "LogGroupName": "/logged", "Tags": [{"Key": "k", "Value": marker}]})))
        .await;
    assert_eq!(ok.status(), "SUCCESS");
    let failed = fx
        .send(fx.events.create(
            LOG_GROUP,
            "Bad",
            json!({"Environment": "dev", "LogGroupName": "/x", "Nope": marker}),
        ))
        .await;
    assert_eq!(failed.status(), "FAILED");

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    assert!(
        text.contains("response PUT failed; retrying"),
        "the retry was logged"
    );
    for secret in [
        SECRET_SIGNATURE,
        SECRET_CREDENTIAL,
        "X-Amz-Signature",
        marker,
    ] {
        assert!(!text.contains(secret), "logs contain {secret}:\n{text}");
    }
    let mut request_lines = 0;
    for line in text.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if let Some(span) = entry.get("span") {
            for field in [
                "RequestType",
                "ResourceType",
                "LogicalResourceId",
                "RequestId",
            ] {
                assert!(span.get(field).is_some(), "{field} missing in {line}");
            }
            request_lines += 1;
        }
    }
    assert!(request_lines >= 4, "{text}");
    assert!(text.contains("?***"), "the URL is logged redacted");
}

#[tokio::test]
async fn the_listener_records_each_request_apart() {
    // Guards the harness itself: two stacks' responses never mix.
    let listener = ResponseListener::start().await;
    let account = emulator().new_account().await;
    let provider = Ok(MonitoringProvider::new(&account.config));
    let one = CfnEvents::new(account.stack_id("one"), listener.clone());
    let (event, id) = one.create(
        LOG_GROUP,
        "A",
        json!({"Environment": "dev", "LogGroupName": "/one"}),
    );
    let _ = invoke_in_process(&provider, event, TIMEOUT).await;
    assert_eq!(listener.puts(&id).len(), 1);
    assert!(listener.puts("not-a-request").is_empty());
}
