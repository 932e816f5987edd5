use super::*;
use destinations::TopicPair;
use message::Context;
use proptest::prelude::*;
use rules::NoiseSettings;
use serde_json::json;
use shared::Environment;
use shared::test_support::any_json;

fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../../events/alarm-router/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON")
}

fn parsed(name: &str) -> AlarmEvent {
    event::parse(&sample(name)).expect(name)
}

fn context(env: &str, severity: Severity) -> Context {
    Context {
        environment: env.to_owned(),
        severity: Some(severity),
        runbook: Some("https://runbooks.example.com/orders".to_owned()),
        ..Context::default()
    }
}

/// Every sample event in events/alarm-router/ (the formats' tests read them too).
pub(crate) const SAMPLES: [&str; 8] = [
    "anomaly-alarm.json",
    "composite-alarm.json",
    "composite-suppressed.json",
    "first-alarm-no-reason-data.json",
    "insufficient-data-to-ok.json",
    "metric-alarm.json",
    "metric-math-alarm.json",
    "metric-ok.json",
];

#[test]
fn the_settle_check_sample_is_a_settle_check() {
    let check = settle::SettleCheck::from_event(&sample("settle-check.json"))
        .expect("a settle check")
        .expect("parses");
    assert_eq!(check.alarm_name, "orders-api-cpu-high");
}

#[test]
fn the_console_link_opens_an_alarm_whose_name_has_slashes_and_spaces() {
    let mut event = parsed("metric-alarm.json");
    event.detail.alarm_name = "orders/api p99 latency (ms)".to_owned();
    assert_eq!(
        message::console_link(&event),
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/orders%2Fapi%20p99%20latency%20%28ms%29"
    );
}

#[test]
fn a_log_alarm_links_logs_insights_for_any_group_name() {
    let with_group = Context {
        log_group: Some("/orders/api service".to_owned()),
        ..context("prod", Severity::Warning)
    };
    let body = message::compose(&parsed("metric-alarm.json"), &with_group).body;
    assert!(
        body.contains(
            "Logs Insights (/orders/api service): https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights$3FqueryDetail$3D~(end~0~start~-3600~timeType~'RELATIVE~unit~'seconds~editorString~'fields*20*40timestamp*2c*20*40message*2c*20*40logStream*0a*7c*20sort*20*40timestamp*20desc*0a*7c*20limit*20100~source~(~'*2forders*2fapi*20service))"
        ),
        "{body}"
    );
    assert!(
        body.contains("Account: 123456789012, Region: us-east-1"),
        "{body}"
    );
}

#[test]
fn every_sample_event_parses() {
    for name in SAMPLES {
        let event = parsed(name);
        assert!(!event.detail.alarm_name.is_empty(), "{name}");
    }
}

#[test]
fn a_metric_alarm_reads_well() {
    let message = message::compose(
        &parsed("metric-alarm.json"),
        &context("prod", Severity::Critical),
    );
    assert_eq!(message.subject, "[ALARM] orders-api-cpu-high (prod)");
    let body = &message.body;
    for expected in [
        "ALARM: orders-api-cpu-high (prod, us-east-1)",
        "Changed from OK to ALARM at 2026-11-26T10:15:30.125+0000",
        "Severity: critical",
        "Reason: Threshold Crossed",
        "m1: AWS/ECS CPUUtilization [ClusterName=orders, ServiceName=api] (Average, 300 s)",
        "Threshold: 80",
        "Recent datapoints: 91.5",
        "Description: CPU of the orders API service above 80% for 5 minutes",
        "Runbook: https://runbooks.example.com/orders",
        "Console: https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/orders-api-cpu-high",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    assert_eq!(
        message.attributes,
        [
            ("severity", "critical".to_owned()),
            ("environment", "prod".to_owned()),
            ("alarm_name", "orders-api-cpu-high".to_owned()),
            ("state", "ALARM".to_owned()),
            (
                "dedup_key",
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-api-cpu-high".to_owned()
            ),
        ]
    );
}

#[test]
fn metric_math_anomaly_and_composite_show_what_they_are() {
    let math = message::compose(
        &parsed("metric-math-alarm.json"),
        &context("dev", Severity::Warning),
    )
    .body;
    assert!(
        math.contains("e1 = 100 * m2 / m1 \"5xx rate (%)\""),
        "{math}"
    );
    assert!(
        math.contains("m2: AWS/ApplicationELB HTTPCode_Target_5XX_Count"),
        "{math}"
    );

    let anomaly_event = parsed("anomaly-alarm.json");
    assert!(anomaly_event.detail.band_expression().is_some());
    let anomaly = message::compose(&anomaly_event, &context("prod", Severity::Warning)).body;
    assert!(
        anomaly.contains("Band (most recent): 310.2 to 980.4"),
        "{anomaly}"
    );
    assert!(!anomaly.contains("Threshold:"), "{anomaly}");

    let composite_event = parsed("composite-alarm.json");
    assert!(composite_event.detail.is_composite());
    let composite = message::compose(&composite_event, &context("prod", Severity::Critical)).body;
    assert!(
        composite
            .contains("Composite rule: ALARM(orders-api-cpu-high) OR ALARM(orders-api-5xx-rate)"),
        "{composite}"
    );
    assert!(
        composite.contains(
            "Triggering alarms:\n  orders-api-cpu-high: ALARM at 2026-11-26T10:15:30.125+0000"
        ),
        "{composite}"
    );
}

#[test]
fn subjects_are_ascii_and_at_most_100_characters() {
    let mut event = parsed("metric-alarm.json");
    event.detail.alarm_name = format!("Bestellungen-Ü-{}", "x".repeat(200));
    let subject = message::compose(&event, &context("prod", Severity::Warning)).subject;
    assert_eq!(subject.len(), 100);
    assert!(subject.is_ascii() && subject.ends_with("..."), "{subject}");
    assert!(
        subject.starts_with("[ALARM] Bestellungen-?-xxx"),
        "{subject}"
    );
    let flapping = Context {
        flapping: Some((5, 60)),
        ..context("prod", Severity::Warning)
    };
    let message = message::compose(&parsed("metric-alarm.json"), &flapping);
    assert_eq!(message.subject, "[FLAPPING] orders-api-cpu-high (prod)");
    assert!(
        message
            .body
            .contains("flapping: 5 state changes in the last 60 minutes"),
        "{}",
        message.body
    );
    let settled = Context {
        settled: Some(settle::Cause::Flapping),
        ..context("prod", Severity::Critical)
    };
    let mut ok = parsed("metric-alarm.json");
    ok.detail.state.value = "OK".to_owned();
    let message = message::compose(&ok, &settled);
    assert_eq!(message.subject, "[SETTLED] OK orders-api-cpu-high (prod)");
    assert!(
        message.body.starts_with("SETTLED in OK: orders-api-cpu-high (prod, us-east-1)\nAfter flapping, the alarm has held OK"),
        "{}",
        message.body
    );
}

#[test]
fn events_that_are_not_alarm_changes_say_what_they_are() {
    let err = event::parse(
        &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
    )
    .expect_err("not an alarm");
    assert_eq!(
        err.to_string(),
        "not a CloudWatch alarm state change: got detail-type \"Scheduled Event\" from source \"aws.events\""
    );
    let err = event::parse(&json!({"Records": []})).expect_err("not an alarm");
    assert_eq!(
        err.to_string(),
        "not a CloudWatch alarm state change: got detail-type (none) from source (none)"
    );
    let mut broken = sample("metric-alarm.json");
    broken["detail"]["state"] = json!({"reason": "no value"});
    let err = event::parse(&broken).expect_err("malformed");
    assert!(err.to_string().contains("missing field `value`"), "{err}");
}

fn settings(env: Environment, critical: bool) -> RouterSettings {
    RouterSettings {
        environment: env,
        alert_topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".to_owned(),
        critical_topic_arn: critical
            .then(|| "arn:aws:sns:us-east-1:123456789012:critical".to_owned()),
        noise: NoiseSettings {
            notify_on_ok: true,
            suppress_initial_ok: true,
            flap_threshold: 4,
        },
        flap_window_minutes: 60,
        remediation_enabled: false,
        chat: TopicPair::default(),
        pager: TopicPair::default(),
        routes: Default::default(),
        settle: None,
    }
}

#[test]
fn critical_goes_to_the_critical_topic_only_where_the_profile_has_one() {
    for env in Environment::ALL {
        let s = settings(env, true);
        let expected = if env.profile().critical_alerts {
            "critical"
        } else {
            "alerts"
        };
        assert!(
            s.topic_for(Some(Severity::Critical)).ends_with(expected),
            "{env}"
        );
        assert!(s.topic_for(Some(Severity::Warning)).ends_with("alerts"));
        assert!(
            s.topic_for(None).ends_with(expected),
            "unknown severity is routed as critical: {env}"
        );
    }
    assert!(
        settings(Environment::Prod, false)
            .topic_for(Some(Severity::Critical))
            .ends_with("alerts")
    );
}

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

#[test]
fn settings_are_read_and_checked() {
    let read = |vars: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RouterSettings::read(&Settings::new(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }))
    };
    let ok = read(&[("ENVIRONMENT", "uat"), ("ALERT_TOPIC_ARN", TOPIC)]).expect("valid");
    assert_eq!(
        (
            ok.noise.flap_threshold,
            ok.flap_window_minutes,
            ok.remediation_enabled
        ),
        (4, 60, false)
    );
    assert!(ok.noise.notify_on_ok && ok.noise.suppress_initial_ok);
    assert_eq!(
        read(&[("ALERT_TOPIC_ARN", TOPIC)])
            .expect_err("no env")
            .to_string(),
        "ENVIRONMENT is required (dev, qa, uat or prod)"
    );
    assert_eq!(
        read(&[("ENVIRONMENT", "staging"), ("ALERT_TOPIC_ARN", TOPIC)])
            .expect_err("bad")
            .to_string(),
        "ENVIRONMENT must be one of dev, qa, uat, prod, got \"staging\""
    );
    assert_eq!(
        read(&[("ENVIRONMENT", "dev")])
            .expect_err("no topic")
            .to_string(),
        "ALERT_TOPIC_ARN is required: the topic for alerts"
    );
    let chat = read(&[
        ("ENVIRONMENT", "prod"),
        ("ALERT_TOPIC_ARN", TOPIC),
        ("CHAT_TOPIC_ARN", "#oncall"),
    ]);
    assert_eq!(chat.expect_err("not a topic").name, "CHAT_TOPIC_ARN");
    assert!(
        read(&[
            ("ENVIRONMENT", "dev"),
            ("ALERT_TOPIC_ARN", TOPIC),
            ("FLAP_THRESHOLD", "0")
        ])
        .is_err()
    );
}

proptest! {
    /// The alarm-event parser never panics: any JSON gives an event or a typed error.
    #[test]
    fn any_json_parses_or_fails_cleanly(value in any_json()) {
        let _ = event::parse(&value);
    }

    /// Any value in any detail field of a real event: parsed or a typed error, and a parsed
    /// event always composes a valid subject.
    #[test]
    fn any_detail_field_value_is_handled(
        value in any_json(),
        path in proptest::sample::select(vec!["alarmName", "state", "previousState", "configuration", "state.value", "state.reasonData", "state.timestamp", "configuration.metrics", "configuration.alarmRule"]),
    ) {
        let mut event = sample("composite-alarm.json");
        let mut target = &mut event["detail"];
        for part in path.split('.') {
            target = &mut target[part];
        }
        *target = value;
        if let Ok(parsed) = event::parse(&event) {
            let message = message::compose(&parsed, &context("dev", Severity::Info));
            prop_assert!(message.subject.len() <= message::MAX_SUBJECT && message.subject.is_ascii());
        }
    }
}
