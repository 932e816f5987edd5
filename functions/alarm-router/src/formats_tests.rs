use super::*;
use crate::event;
use crate::message::Context;

use crate::tests::SAMPLES;
/// SNS's limit for one message.
const MAX_SNS_MESSAGE: usize = 262_144;

fn parsed(name: &str) -> AlarmEvent {
    let path = format!(
        "{}/../../events/alarm-router/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("sample");
    event::parse(&serde_json::from_str(&text).expect("JSON")).expect(name)
}

fn prod_critical() -> Context {
    Context {
        environment: "prod".to_owned(),
        severity: Some(Severity::Critical),
        runbook: Some("https://runbooks.example.com/orders".to_owned()),
        ..Context::default()
    }
}

fn strings(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

/// The custom-notification schema of Amazon Q Developer in chat applications, field by field.
fn check_chat(name: &str, notification: &Value, arn: &str) {
    let top: Vec<&str> = notification
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in &top {
        assert!(
            ["version", "source", "id", "content", "metadata"].contains(key),
            "{name}: unknown field {key}"
        );
    }
    assert_eq!(notification["version"], "1.0", "{name}");
    assert_eq!(notification["source"], "custom", "{name}");
    let content = &notification["content"];
    assert_eq!(content["textType"], "client-markdown", "{name}");
    assert!(
        content["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{name}"
    );
    assert!(content["description"].is_string(), "{name}");
    let steps = strings(&content["nextSteps"]).expect("nextSteps are strings");
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("Open the alarm: https://")),
        "{name}: {steps:?}"
    );
    assert!(strings(&content["keywords"]).is_some(), "{name}");
    let metadata = &notification["metadata"];
    assert_eq!(metadata["threadId"], arn, "{name}: one thread per alarm");
    assert!(metadata["summary"].is_string(), "{name}");
    // A custom action attaches to a notification type: [a-zA-Z0-9-], 1 to 100 characters.
    let event_type = metadata["eventType"].as_str().expect("eventType");
    assert!(
        !event_type.is_empty()
            && event_type.len() <= 100
            && event_type
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        "{name}: {event_type}"
    );
    assert_eq!(strings(&metadata["relatedResources"]), Some(vec![arn]));
    assert!(
        metadata["additionalContext"]
            .as_object()
            .expect("object")
            .values()
            .all(Value::is_string),
        "{name}"
    );
}

#[test]
fn every_sample_renders_as_a_valid_chat_notification_threaded_by_its_alarm() {
    for name in SAMPLES {
        let event = parsed(name);
        let rendered = Format::Chat.render(&event, &prod_critical());
        assert!(rendered.body.len() <= MAX_SNS_MESSAGE, "{name}");
        let notification: Value = serde_json::from_str(&rendered.body).expect("JSON");
        check_chat(name, &notification, &message::alarm_arn(&event));
    }
    let alarm = Format::Chat.render(&parsed("metric-alarm.json"), &prod_critical());
    let ok = Format::Chat.render(&parsed("metric-ok.json"), &prod_critical());
    let thread = |m: &Message| {
        serde_json::from_str::<Value>(&m.body).expect("JSON")["metadata"]["threadId"].clone()
    };
    assert_eq!(
        thread(&alarm),
        thread(&ok),
        "ALARM and its OK share a thread"
    );
    let chat: Value = serde_json::from_str(&alarm.body).expect("JSON");
    assert_eq!(
        chat["content"]["title"],
        ":red_circle: [ALARM] orders-api-cpu-high (prod)"
    );
    assert_eq!(
        chat["content"]["nextSteps"][0],
        "Follow the runbook: https://runbooks.example.com/orders"
    );
}

#[test]
fn every_sample_renders_as_cloudwatchs_own_notification() {
    for name in SAMPLES {
        let event = parsed(name);
        let rendered = Format::CloudWatch.render(&event, &prod_critical());
        let body: Value = serde_json::from_str(&rendered.body).expect("JSON");
        assert_eq!(
            body["AlarmName"],
            event.detail.alarm_name.as_str(),
            "{name}"
        );
        assert_eq!(
            body["NewStateValue"],
            event.detail.state.value.as_str(),
            "{name}"
        );
        assert_eq!(
            body["AlarmArn"],
            message::alarm_arn(&event).as_str(),
            "{name}"
        );
        assert_eq!(body["AWSAccountId"], "123456789012", "{name}");
        assert_eq!(body["Region"], "US East (N. Virginia)", "{name}");
        for list in ["OKActions", "AlarmActions", "InsufficientDataActions"] {
            assert!(body[list].is_array(), "{name}: {list}");
        }
        let what_to_do = &body["Stackhand"];
        assert_eq!(what_to_do["Environment"], "prod", "{name}");
        assert_eq!(what_to_do["Severity"], "critical", "{name}");
        assert_eq!(what_to_do["AccountId"], "123456789012", "{name}");
        assert_eq!(what_to_do["Region"], "us-east-1", "{name}");
        assert_eq!(
            what_to_do["Runbook"], "https://runbooks.example.com/orders",
            "{name}"
        );
        assert_eq!(
            what_to_do["Console"],
            message::console_link(&event).as_str(),
            "{name}"
        );
        assert!(what_to_do["RecentDatapoints"].is_array(), "{name}");
        let composite = event.detail.is_composite();
        assert_eq!(body["AlarmRule"].is_string(), composite, "{name}");
        assert_eq!(body["Trigger"].is_object(), !composite, "{name}");
        assert!(
            rendered
                .subject
                .starts_with(&format!("{}: \"", event.detail.state.value)),
            "{name}: {}",
            rendered.subject
        );
    }
    let body = cloudwatch(&parsed("metric-alarm.json"), &prod_critical());
    let trigger = &body["Trigger"];
    assert_eq!(trigger["MetricName"], "CPUUtilization");
    assert_eq!(trigger["Namespace"], "AWS/ECS");
    assert_eq!(trigger["Statistic"], "AVERAGE");
    assert_eq!(trigger["Period"], 300);
    assert_eq!(trigger["Threshold"], 80.0);
    assert_eq!(
        trigger["Dimensions"],
        json!([{"value": "orders", "name": "ClusterName"}, {"value": "api", "name": "ServiceName"}])
    );
    assert_eq!(body["OldStateValue"], "OK");
    let math = cloudwatch(&parsed("metric-math-alarm.json"), &prod_critical());
    assert!(
        math["Trigger"]["Metrics"]
            .as_array()
            .is_some_and(|m| m.len() > 1)
    );
}

#[test]
fn the_formats_are_named_and_nothing_else_is_one() {
    for name in Format::NAMES {
        assert!(Format::parse(name).is_some(), "{name}");
    }
    assert_eq!(Format::parse("slack"), None);
}

#[test]
fn the_pager_reads_the_users_description_and_the_log_link_without_stackhands_severity_line() {
    let mut event = parsed("metric-alarm.json");
    if let Some(config) = event.detail.configuration.as_mut() {
        config.description = Some(shared::alarm_tags::with_severity(
            Some("Errors in the orders API logs"),
            "critical",
        ));
    }
    let ctx = Context {
        log_group: Some("/ecs/orders api".to_owned()),
        ..prod_critical()
    };
    let body = cloudwatch(&event, &ctx);
    assert_eq!(body["AlarmDescription"], "Errors in the orders API logs");
    assert_eq!(body["Stackhand"]["LogGroup"], "/ecs/orders api");
    assert_eq!(
        body["Stackhand"]["LogsInsights"],
        message::logs_insights_link(&event, "/ecs/orders api").as_str()
    );
    assert_eq!(body["Stackhand"]["RecentDatapoints"], json!([91.5]));
}
