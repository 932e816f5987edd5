//! alarm-router end to end: real alarms in the emulator, the router's notification read back
//! from SQS queues subscribed to the topics.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use alarm_router::destinations::TopicPair;
use alarm_router::rules::NoiseSettings;
use alarm_router::{AlarmRouter, RouterSettings};
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic, Tag};
use serde_json::{Value, json};
use shared::Environment;

struct Fixture {
    account: e2e::Account,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sqs: aws_sdk_sqs::Client,
    alerts_topic: String,
    critical_topic: String,
    alerts_queue: String,
    critical_queue: String,
    chat_topic: String,
    pager_topic: String,
    chat_queue: String,
    pager_queue: String,
}

impl Fixture {
    async fn new() -> Fixture {
        let fx = Fixture::at_cloudwatch_quotas().await;
        // About routing, not quotas: the storm under CloudWatch's quotas is its own test.
        fx.account.raise_alarm_quotas(10).await;
        fx
    }

    async fn at_cloudwatch_quotas() -> Fixture {
        let account = e2e::emulator().new_account().await;
        let sns = aws_sdk_sns::Client::new(&account.config);
        let sqs = aws_sdk_sqs::Client::new(&account.config);
        let mut topics = Vec::new();
        let mut queues = Vec::new();
        for name in ["alerts", "critical", "chat", "pager"] {
            let topic = common::topic(&account, name).await;
            let queue = sqs
                .create_queue()
                .queue_name(format!("{name}-inbox"))
                .send()
                .await
                .expect("queue")
                .queue_url
                .expect("url");
            let queue_arn = format!("arn:aws:sqs:us-east-1:{}:{name}-inbox", account.id);
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(queue_arn)
                .send()
                .await
                .expect("subscribe");
            topics.push(topic);
            queues.push(queue);
        }
        Fixture {
            // Staging and looking are the test's own calls, outside the quotas.
            cloudwatch: aws_sdk_cloudwatch::Client::new(&account.observer()),
            sqs,
            alerts_topic: topics[0].clone(),
            critical_topic: topics[1].clone(),
            alerts_queue: queues[0].clone(),
            critical_queue: queues[1].clone(),
            chat_topic: topics[2].clone(),
            pager_topic: topics[3].clone(),
            chat_queue: queues[2].clone(),
            pager_queue: queues[3].clone(),
            account,
        }
    }

    fn settings(&self, environment: Environment) -> RouterSettings {
        RouterSettings {
            environment,
            alert_topic_arn: self.alerts_topic.clone(),
            critical_topic_arn: Some(self.critical_topic.clone()),
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

    fn router(&self, settings: RouterSettings) -> AlarmRouter {
        AlarmRouter::new(&self.account.config, settings)
    }

    async fn put_alarm(&self, name: &str, tags: &[(&str, &str)]) {
        let tags: Vec<Tag> = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
            .collect();
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .statistic(Statistic::Average)
            .period(300)
            .evaluation_periods(1)
            .threshold(80.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .set_tags(Some(tags))
            .send()
            .await
            .expect("PutMetricAlarm");
    }

    async fn set_state(&self, name: &str, state: StateValue) {
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(state)
            .state_reason("test")
            .send()
            .await
            .expect("SetAlarmState");
    }

    /// A sample event, pointed at `alarm` in this account.
    fn event(&self, sample: &str, alarm: &str) -> Value {
        let path = e2e::emulator::workspace_root()
            .join("events/alarm-router")
            .join(sample);
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON");
        event["account"] = json!(self.account.id);
        event["resources"] = json!([format!(
            "arn:aws:cloudwatch:us-east-1:{}:alarm:{alarm}",
            self.account.id
        )]);
        event["detail"]["alarmName"] = json!(alarm);
        event
    }

    /// The SNS notifications waiting in `queue`, as `(Subject, Message, attributes)`.
    async fn received(&self, queue: &str) -> Vec<(String, String, Value)> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        out.messages()
            .iter()
            .map(|m| {
                let envelope: Value =
                    serde_json::from_str(m.body().expect("body")).expect("SNS envelope");
                let attributes: Value = envelope["MessageAttributes"]
                    .as_object()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.clone(), v["Value"].clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                    envelope["Message"].as_str().unwrap_or_default().to_owned(),
                    attributes,
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn a_critical_alarm_in_prod_reaches_the_critical_topic_with_everything_a_pager_needs() {
    let fx = Fixture::new().await;
    fx.put_alarm(
        "orders-api-cpu-high",
        &[
            ("severity", "critical"),
            ("runbook", "https://runbooks.example.com/cpu"),
        ],
    )
    .await;
    fx.set_state("orders-api-cpu-high", StateValue::Alarm).await;
    let output = fx
        .router(fx.settings(Environment::Prod))
        .handle(fx.event("metric-alarm.json", "orders-api-cpu-high"))
        .await
        .expect("routed");
    assert_eq!(output["action"], "published");
    assert_eq!(output["severity"], "critical");
    assert_eq!(output["topicArn"], fx.critical_topic);
    assert!(output["messageId"].is_string());

    let received = fx.received(&fx.critical_queue).await;
    assert_eq!(received.len(), 1);
    let (subject, body, attributes) = &received[0];
    assert_eq!(subject, "[ALARM] orders-api-cpu-high (prod)");
    assert!(body.contains("Changed from OK to ALARM"), "{body}");
    assert!(body.contains("Threshold: 80"), "{body}");
    assert!(
        body.contains("Runbook: https://runbooks.example.com/cpu"),
        "{body}"
    );
    assert!(
        body.contains("#alarmsV2:alarm/orders-api-cpu-high"),
        "{body}"
    );
    assert_eq!(
        attributes,
        &json!({"severity": "critical", "environment": "prod", "alarm_name": "orders-api-cpu-high", "state": "ALARM",
                "dedup_key": format!("arn:aws:cloudwatch:us-east-1:{}:alarm:orders-api-cpu-high", fx.account.id)})
    );
    assert!(fx.received(&fx.alerts_queue).await.is_empty());
}

#[tokio::test]
async fn a_critical_prod_alarm_reaches_chat_and_the_pager_and_its_recovery_resolves_the_same_incident()
 {
    let fx = Fixture::new().await;
    let alarm = "orders-api-cpu-high";
    fx.put_alarm(
        alarm,
        &[
            ("severity", "critical"),
            ("runbook", "https://runbooks.example.com/cpu"),
        ],
    )
    .await;
    let router = fx.router(RouterSettings {
        chat: TopicPair {
            standard: Some(fx.chat_topic.clone()),
            critical: None,
        },
        pager: TopicPair {
            standard: None,
            critical: Some(fx.pager_topic.clone()),
        },
        ..fx.settings(Environment::Prod)
    });
    let arn = format!(
        "arn:aws:cloudwatch:us-east-1:{}:alarm:{alarm}",
        fx.account.id
    );
    let mut threads = Vec::new();
    let mut incidents = Vec::new();
    for (state, sample) in [
        (StateValue::Alarm, "metric-alarm.json"),
        (StateValue::Ok, "metric-ok.json"),
    ] {
        fx.set_state(alarm, state.clone()).await;
        let output = router
            .handle(fx.event(sample, alarm))
            .await
            .expect("routed");
        let formats: Vec<&str> = output["published"]
            .as_array()
            .expect("published")
            .iter()
            .map(|p| p["format"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(formats, ["text", "chat", "cloudwatch"], "{output}");
        assert_eq!(
            fx.received(&fx.critical_queue).await.len(),
            1,
            "e-mail as before"
        );

        let chat = fx.received(&fx.chat_queue).await;
        assert_eq!(chat.len(), 1);
        let chat: Value = serde_json::from_str(&chat[0].1).expect("a custom notification");
        assert_eq!(
            (chat["version"].as_str(), chat["source"].as_str()),
            (Some("1.0"), Some("custom"))
        );
        assert!(
            chat["content"]["title"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("[{}] {alarm} (prod)", state.as_str()))),
            "{chat}"
        );
        threads.push(chat["metadata"]["threadId"].clone());

        let pages = fx.received(&fx.pager_queue).await;
        assert_eq!(pages.len(), 1);
        let (subject, body, _) = &pages[0];
        assert_eq!(
            subject,
            &format!("{}: \"{alarm}\" in US East (N. Virginia)", state.as_str())
        );
        let page: Value = serde_json::from_str(body).expect("CloudWatch's JSON");
        assert_eq!(page["NewStateValue"], state.as_str());
        assert_eq!(page["AlarmArn"], arn.as_str());
        assert_eq!(page["Trigger"]["MetricName"], "CPUUtilization");
        assert_eq!(
            (
                &page["Stackhand"]["Environment"],
                &page["Stackhand"]["Severity"]
            ),
            (&json!("prod"), &json!("critical")),
            "what to do rides beside CloudWatch's own keys"
        );
        incidents.push(page["AlarmName"].clone());
    }
    assert_eq!(
        threads,
        [json!(arn), json!(arn)],
        "ALARM and OK in one chat thread"
    );
    assert_eq!(
        incidents,
        [json!(alarm), json!(alarm)],
        "the pager resolves what it opened"
    );

    // A warning goes to chat, not to the pager.
    fx.put_alarm("orders-api-latency", &[("severity", "warning")])
        .await;
    router
        .handle(fx.event("metric-alarm.json", "orders-api-latency"))
        .await
        .expect("routed");
    assert_eq!(fx.received(&fx.chat_queue).await.len(), 1);
    assert!(fx.received(&fx.pager_queue).await.is_empty());
}

#[tokio::test]
async fn a_team_route_sends_its_alarms_to_the_teams_destinations_and_others_to_the_default() {
    let fx = Fixture::new().await;
    fx.put_alarm(
        "pay-api-5xx",
        &[("severity", "critical"), ("team", "payments")],
    )
    .await;
    fx.put_alarm(
        "orders-api-5xx",
        &[("severity", "critical"), ("team", "orders")],
    )
    .await;
    let routes = format!(
        r#"{{"destinations": {{"payments-chat": {{"topic": "{}", "format": "chat"}}, "payments-pager": {{"topic": "{}", "format": "cloudwatch"}}}},
            "routes": [{{"name": "payments", "tags": {{"team": "payments"}}, "standard": ["payments-chat"], "critical": ["payments-chat", "payments-pager"]}}]}}"#,
        fx.chat_topic, fx.pager_topic
    );
    let router = fx.router(RouterSettings {
        routes: alarm_router::routes::Routes::parse(&routes).expect("valid"),
        ..fx.settings(Environment::Prod)
    });
    let output = router
        .handle(fx.event("metric-alarm.json", "pay-api-5xx"))
        .await
        .expect("routed");
    assert_eq!(output["route"], "payments", "{output}");
    assert!(output["topicArn"].is_null(), "{output}");
    assert_eq!(fx.received(&fx.chat_queue).await.len(), 1);
    assert_eq!(fx.received(&fx.pager_queue).await.len(), 1);
    assert!(
        fx.received(&fx.critical_queue).await.is_empty(),
        "the team's route replaces the default"
    );

    let output = router
        .handle(fx.event("metric-alarm.json", "orders-api-5xx"))
        .await
        .expect("routed");
    assert!(output.get("route").is_none(), "{output}");
    assert_eq!(
        fx.received(&fx.critical_queue).await.len(),
        1,
        "no route: the default"
    );
    assert!(fx.received(&fx.chat_queue).await.is_empty());
}

#[tokio::test]
async fn routing_follows_the_environment_and_the_severity_tag() {
    let fx = Fixture::new().await;
    fx.put_alarm("crit", &[("severity", "critical")]).await;
    fx.put_alarm("untagged", &[]).await;
    for (env, alarm, queue) in [
        (Environment::Dev, "crit", &fx.alerts_queue),
        (Environment::Qa, "crit", &fx.alerts_queue),
        (Environment::Uat, "crit", &fx.critical_queue),
        (Environment::Prod, "untagged", &fx.alerts_queue),
    ] {
        let output = fx
            .router(fx.settings(env))
            .handle(fx.event("metric-alarm.json", alarm))
            .await
            .expect("routed");
        assert_eq!(output["action"], "published", "{env}");
        let received = fx.received(queue).await;
        assert_eq!(received.len(), 1, "{env} {alarm}");
        assert_eq!(received[0].2["environment"], env.as_str());
        let expected_severity = if alarm == "crit" {
            "critical"
        } else {
            "warning"
        };
        assert_eq!(received[0].2["severity"], expected_severity, "{env}");
    }
}

#[tokio::test]
async fn every_event_shape_is_published_readably() {
    let fx = Fixture::new().await;
    for (sample, alarm, expected) in [
        ("metric-math-alarm.json", "math", "e1 = 100 * m2 / m1"),
        (
            "anomaly-alarm.json",
            "anomaly",
            "Band (most recent): 310.2 to 980.4",
        ),
        ("composite-alarm.json", "health", "Triggering alarms:"),
        (
            "first-alarm-no-reason-data.json",
            "tasks",
            "Changed from INSUFFICIENT_DATA to ALARM",
        ),
        ("metric-ok.json", "recovered", "Changed from ALARM to OK"),
    ] {
        fx.put_alarm(alarm, &[]).await;
        let output = fx
            .router(fx.settings(Environment::Dev))
            .handle(fx.event(sample, alarm))
            .await
            .expect(sample);
        assert_eq!(output["action"], "published", "{sample}: {output}");
        let received = fx.received(&fx.alerts_queue).await;
        assert_eq!(received.len(), 1, "{sample}");
        assert!(
            received[0].1.contains(expected),
            "{sample}:\n{}",
            received[0].1
        );
    }
}

#[tokio::test]
async fn each_suppression_rule_names_itself_and_publishes_nothing() {
    let fx = Fixture::new().await;
    fx.put_alarm("quiet", &[]).await;
    let mut initial_ok = fx.event("metric-ok.json", "quiet");
    initial_ok["detail"]["previousState"]["value"] = json!("OK");
    for (event, rule) in [
        (
            fx.event("insufficient-data-to-ok.json", "quiet"),
            "insufficient-data-to-ok",
        ),
        (initial_ok, "ok-without-alarm"),
        (
            fx.event("composite-suppressed.json", "quiet"),
            "actions-suppressed",
        ),
    ] {
        let output = fx
            .router(fx.settings(Environment::Prod))
            .handle(event)
            .await
            .expect("routed");
        assert_eq!(output["action"], "suppressed");
        assert_eq!(output["rule"], rule, "{output}");
        assert!(!output["reason"].as_str().unwrap_or_default().is_empty());
    }
    assert!(fx.received(&fx.alerts_queue).await.is_empty());
    assert!(fx.received(&fx.critical_queue).await.is_empty());
}

#[tokio::test]
async fn a_flapping_alarm_sends_one_notice_then_goes_quiet() {
    let fx = Fixture::new().await;
    fx.put_alarm("flappy", &[]).await;
    let settings = RouterSettings {
        noise: NoiseSettings {
            flap_threshold: 2,
            ..fx.settings(Environment::Dev).noise
        },
        ..fx.settings(Environment::Dev)
    };
    let router = fx.router(settings);
    // Two changes: steady.
    fx.set_state("flappy", StateValue::Alarm).await;
    fx.set_state("flappy", StateValue::Ok).await;
    let output = router
        .handle(fx.event("metric-alarm.json", "flappy"))
        .await
        .expect("routed");
    assert_eq!(output["action"], "published");
    assert_eq!(
        fx.received(&fx.alerts_queue).await[0].0,
        "[ALARM] flappy (dev)"
    );
    // The third change crosses the threshold: one flapping notice.
    fx.set_state("flappy", StateValue::Alarm).await;
    let output = router
        .handle(fx.event("metric-alarm.json", "flappy"))
        .await
        .expect("routed");
    assert_eq!(output["action"], "published");
    let notice = fx.received(&fx.alerts_queue).await;
    assert_eq!(notice[0].0, "[FLAPPING] flappy (dev)");
    assert!(
        notice[0]
            .1
            .contains("3 state changes in the last 60 minutes"),
        "{}",
        notice[0].1
    );
    // Later changes in the window are suppressed.
    fx.set_state("flappy", StateValue::Ok).await;
    let output = router
        .handle(fx.event("metric-alarm.json", "flappy"))
        .await
        .expect("routed");
    assert_eq!(
        (output["action"].as_str(), output["rule"].as_str()),
        (Some("suppressed"), Some("flapping"))
    );
    assert!(fx.received(&fx.alerts_queue).await.is_empty());
}

#[tokio::test]
async fn unreadable_tags_and_history_never_block_a_notification() {
    let fx = Fixture::new().await;
    // CloudWatch unreachable: no tags, no history; SNS works.
    let unreachable = fx
        .account
        .config
        .to_builder()
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let router = AlarmRouter::with_clients(
        alarm_router::Clients {
            cloudwatch: aws_sdk_cloudwatch::Client::new(&unreachable),
            ..alarm_router::Clients::new(&fx.account.config)
        },
        fx.settings(Environment::Prod),
    );
    let output = router
        .handle(fx.event("metric-alarm.json", "anything"))
        .await
        .expect("routed");
    assert_eq!(output["action"], "published");
    assert_eq!(
        output["topicArn"], fx.critical_topic,
        "a severity nobody could read is routed as critical, never downgraded"
    );
    let received = fx.received(&fx.critical_queue).await;
    assert!(
        received[0].1.contains(
            "Severity: critical (unknown: the alarm's tags could not be read, so it is treated as critical)"
        ),
        "{}",
        received[0].1
    );
    // An alarm stackhand made names its severity in the description the event carries.
    let mut described = fx.event("metric-alarm.json", "described");
    described["detail"]["configuration"]["description"] = json!(shared::alarm_tags::with_severity(
        Some("Latency above the SLO"),
        "warning"
    ));
    let output = router.handle(described).await.expect("routed");
    assert_eq!(output["severity"], "warning");
    assert_eq!(output["topicArn"], fx.alerts_topic);
    let received = fx.received(&fx.alerts_queue).await;
    assert!(
        received[0].1.contains("Severity: warning\n"),
        "{}",
        received[0].1
    );
    assert!(
        received[0]
            .1
            .contains("Description: Latency above the SLO\n")
            && !received[0].1.contains("[stackhand severity="),
        "the severity line is for machines: {}",
        received[0].1
    );
}

/// Cluster `orders` and task definition `api`, for the tests that need an ECS service.
async fn orders_cluster_with_api_task(ecs: &aws_sdk_ecs::Client) {
    ecs.create_cluster()
        .cluster_name("orders")
        .send()
        .await
        .expect("cluster");
    ecs.register_task_definition()
        .family("api")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("api")
                .image("nginx")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect("task definition");
}

#[tokio::test]
async fn remediation_forces_a_new_deployment_only_when_enabled() {
    let fx = Fixture::new().await;
    let ecs = aws_sdk_ecs::Client::new(&fx.account.config);
    orders_cluster_with_api_task(&ecs).await;
    let opt_in = aws_sdk_ecs::types::Tag::builder()
        .key("stackhand:remediate")
        .value("ecs-force-new-deployment")
        .build();
    // No tasks wanted: moto, which runs none, then reports the rollout complete; a service
    // mid-rollout would hold its alarms as `deploying` (tested on its own).
    ecs.create_service()
        .cluster("orders")
        .service_name("api")
        .task_definition("api")
        .desired_count(0)
        .tags(opt_in)
        .send()
        .await
        .expect("service");
    // A service that does not opt in, named by an alarm that asks for remediation.
    ecs.create_service()
        .cluster("orders")
        .service_name("payments")
        .task_definition("api")
        .desired_count(0)
        .send()
        .await
        .expect("service");
    fx.put_alarm(
        "payments-broken",
        &[
            ("stackhand:remediate", "ecs-force-new-deployment"),
            ("stackhand:ecs-cluster", "orders"),
            ("stackhand:ecs-service", "payments"),
        ],
    )
    .await;
    let deployment = |service: &'static str| {
        let ecs = ecs.clone();
        async move {
            ecs.describe_services()
                .cluster("orders")
                .services(service)
                .send()
                .await
                .expect("describe")
                .services()[0]
                .deployments()
                .first()
                .and_then(|d| d.id().map(str::to_owned))
        }
    };
    let api_before = deployment("api").await;
    fx.put_alarm(
        "api-broken",
        &[
            ("stackhand:remediate", "ecs-force-new-deployment"),
            ("stackhand:ecs-cluster", "orders"),
            ("stackhand:ecs-service", "api"),
        ],
    )
    .await;

    let off = fx
        .router(fx.settings(Environment::Prod))
        .handle(fx.event("metric-alarm.json", "api-broken"))
        .await
        .expect("routed");
    assert_eq!(off["remediation"]["done"], false);
    assert!(
        off["remediation"]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not done: REMEDIATION_ENABLED is off"),
        "{off}"
    );

    let on = fx.router(RouterSettings {
        remediation_enabled: true,
        ..fx.settings(Environment::Prod)
    });
    let output = on
        .handle(fx.event("metric-alarm.json", "api-broken"))
        .await
        .expect("routed");
    assert_eq!(
        output["remediation"],
        json!({"action": "ecs-force-new-deployment", "cluster": "orders", "service": "api", "done": true,
        "detail": "forced a new deployment of service api in cluster orders"})
    );
    let api_after = deployment("api").await;
    assert_ne!(
        api_after, api_before,
        "a new deployment of the service exists"
    );
    let received = fx.received(&fx.alerts_queue).await;
    assert!(received.iter().any(|m| {
        m.1.contains("Remediation: forced a new deployment of service api in cluster orders")
    }));

    // The same event delivered again (Lambda retries after a failed Publish): no second deployment.
    let again = on
        .handle(fx.event("metric-alarm.json", "api-broken"))
        .await
        .expect("routed");
    assert!(
        again["remediation"]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("already forced a new deployment"),
        "{again}"
    );
    assert_eq!(
        deployment("api").await,
        api_after,
        "deployed once per alarm change"
    );

    // A service that does not carry the opt-in tag itself is never redeployed.
    let payments_before = deployment("payments").await;
    let refused = on
        .handle(fx.event("metric-alarm.json", "payments-broken"))
        .await
        .expect("routed");
    assert_eq!(refused["remediation"]["done"], false);
    assert!(
        refused["remediation"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("does not opt in"),
        "{refused}"
    );
    assert_eq!(deployment("payments").await, payments_before);

    // Not while the alarm flaps: the third change in the window gets the notice, no deployment.
    fx.put_alarm(
        "api-flappy",
        &[
            ("stackhand:remediate", "ecs-force-new-deployment"),
            ("stackhand:ecs-cluster", "orders"),
            ("stackhand:ecs-service", "api"),
        ],
    )
    .await;
    for state in [StateValue::Alarm, StateValue::Ok, StateValue::Alarm] {
        fx.set_state("api-flappy", state).await;
    }
    let flapping = fx.router(RouterSettings {
        remediation_enabled: true,
        noise: NoiseSettings {
            flap_threshold: 2,
            ..fx.settings(Environment::Prod).noise
        },
        ..fx.settings(Environment::Prod)
    });
    let output = flapping
        .handle(fx.event("metric-alarm.json", "api-flappy"))
        .await
        .expect("routed");
    assert_eq!(output["remediation"]["done"], false, "{output}");
    assert!(
        output["remediation"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("flapping"),
        "{output}"
    );
    assert_eq!(
        deployment("api").await,
        api_after,
        "no deployment while flapping"
    );
    // An OK never remediates.
    let ok = on
        .handle(fx.event("metric-ok.json", "api-broken"))
        .await
        .expect("routed");
    assert!(ok.get("remediation").is_none(), "{ok}");
}

#[tokio::test]
async fn an_event_that_is_not_an_alarm_change_is_an_error_and_nothing_is_sent() {
    let fx = Fixture::new().await;
    let err = fx
        .router(fx.settings(Environment::Prod))
        .handle(json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}))
        .await
        .expect_err("not an alarm");
    assert_eq!(
        err.to_string(),
        "not a CloudWatch alarm state change: got detail-type \"EC2 Instance State-change Notification\" from source \"aws.ec2\""
    );
    assert!(fx.received(&fx.alerts_queue).await.is_empty());
}

/// Issue 23 §4: an incident changes 100 alarms in 10 seconds, each change routed by its own
/// router (as concurrent Lambda instances are) at CloudWatch's request quotas, where
/// DescribeAlarmHistory allows 3 a second. No critical alert is downgraded or lost, and each is
/// published once: the severity of stackhand's alarms travels in the event's description.
#[tokio::test]
async fn an_alarm_storm_downgrades_no_critical_alert_and_publishes_each_once() {
    const ALARMS: usize = 100;
    let fx = Fixture::at_cloudwatch_quotas().await;
    let severity_of = |i: usize| {
        if i.is_multiple_of(3) {
            "critical"
        } else {
            "warning"
        }
    };
    let mut events = Vec::new();
    for i in 0..ALARMS {
        let name = format!("storm-{i:03}");
        // Every other alarm is stackhand's (its severity in the description line too).
        let made_by_stackhand = i.is_multiple_of(2);
        let description = made_by_stackhand
            .then(|| shared::alarm_tags::with_severity(Some("made by a stack"), severity_of(i)));
        let tags = [("severity", severity_of(i))];
        fx.put_alarm(&name, &tags).await;
        let mut event = fx.event("metric-alarm.json", &name);
        match description {
            Some(text) => event["detail"]["configuration"]["description"] = json!(text),
            None => {
                if let Some(config) = event["detail"]["configuration"].as_object_mut() {
                    config.remove("description");
                }
            }
        }
        events.push(event);
    }
    let settings = fx.settings(Environment::Prod);
    let started = std::time::Instant::now();
    let mut routed = tokio::task::JoinSet::new();
    for (i, event) in events.into_iter().enumerate() {
        let router = AlarmRouter::new(&fx.account.config, settings.clone());
        routed.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(100 * i as u64)).await;
            router.handle(event).await
        });
    }
    let mut outputs = Vec::new();
    while let Some(joined) = routed.join_next().await {
        outputs.push(joined.expect("task").expect("routed"));
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
    for output in &outputs {
        assert_eq!(output["action"], "published", "{output}");
    }
    let throttled = fx.account.throttled_calls().await;
    assert!(
        throttled.get("DescribeAlarmHistory").copied().unwrap_or(0) > 0,
        "the storm met CloudWatch's quotas: {throttled:?}"
    );
    let critical = fx.drain(&fx.critical_queue, ALARMS / 3 + 1).await;
    let alerts = fx.drain(&fx.alerts_queue, ALARMS - (ALARMS / 3 + 1)).await;
    let names = |received: &[(String, String, Value)]| -> Vec<String> {
        let mut names: Vec<String> = received
            .iter()
            .map(|(_, _, attributes)| attributes["alarm_name"].as_str().unwrap_or("?").to_owned())
            .collect();
        names.sort();
        names
    };
    let expected = |severity: &str| -> Vec<String> {
        (0..ALARMS)
            .filter(|i| severity_of(*i) == severity)
            .map(|i| format!("storm-{i:03}"))
            .collect()
    };
    assert_eq!(
        names(&critical),
        expected("critical"),
        "each critical alert once, none downgraded"
    );
    assert_eq!(names(&alerts), expected("warning"), "each warning once");
}

impl Fixture {
    /// Every notification in `queue`, until `expected` have arrived (or 20 s) and the queue then
    /// stays empty a moment, so that a duplicate would be seen. A received message stays hidden
    /// for the queue's 30 s visibility timeout, longer than this takes.
    async fn drain(&self, queue: &str, expected: usize) -> Vec<(String, String, Value)> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut all = Vec::new();
        let mut quiet_rounds = 0;
        while std::time::Instant::now() < deadline && (all.len() < expected || quiet_rounds < 3) {
            let batch = self.received(queue).await;
            if batch.is_empty() {
                quiet_rounds += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            } else {
                quiet_rounds = 0;
            }
            all.extend(batch);
        }
        all
    }
}

/// Issue 23 §3: CloudWatch mutes an alarm's own actions under a mute rule but still sends its
/// changes to EventBridge; the router keeps quiet too, and names the rule.
#[tokio::test]
async fn a_muted_alarm_is_suppressed_naming_its_mute_rule() {
    use aws_sdk_cloudwatch::types::{MuteTargets, Rule, Schedule};
    let fx = Fixture::new().await;
    // `at(yyyy-MM-ddThh:mm)`, minutes ago.
    let at = |minutes_ago: u64| {
        let moment =
            std::time::SystemTime::now() - std::time::Duration::from_secs(minutes_ago * 60);
        let text = aws_sdk_cloudwatch::primitives::DateTime::from(moment)
            .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
            .expect("a date");
        format!("at({})", &text[..16])
    };
    let mute = |name: &str, expression: String, alarm: &str| {
        fx.cloudwatch
            .put_alarm_mute_rule()
            .name(name)
            .rule(
                Rule::builder()
                    .schedule(
                        Schedule::builder()
                            .expression(expression)
                            .duration("PT1H")
                            .build(),
                    )
                    .build(),
            )
            .mute_targets(MuteTargets::builder().alarm_names(alarm).build())
            .send()
    };
    for name in ["orders-db-cpu", "orders-api-errors"] {
        fx.put_alarm(name, &[("severity", "critical")]).await;
    }
    mute("db-maintenance", at(5), "orders-db-cpu")
        .await
        .expect("mute rule");
    mute("last-nights-backup", at(24 * 60), "orders-api-errors")
        .await
        .expect("expired mute rule");
    let router = fx.router(fx.settings(Environment::Prod));

    let muted = router
        .handle(fx.event("metric-alarm.json", "orders-db-cpu"))
        .await
        .expect("routed");
    assert_eq!(muted["action"], "suppressed", "{muted}");
    assert_eq!(muted["rule"], "muted");
    assert_eq!(muted["muteRule"], "db-maintenance");
    assert_eq!(
        muted["reason"],
        "muted by the alarm mute rule db-maintenance"
    );
    assert!(fx.received(&fx.critical_queue).await.is_empty());

    let after_its_window = router
        .handle(fx.event("metric-alarm.json", "orders-api-errors"))
        .await
        .expect("routed");
    assert_eq!(
        after_its_window["action"], "published",
        "{after_its_window}"
    );
    assert_eq!(fx.received(&fx.critical_queue).await.len(), 1);
}

/// Issue 23 §3: flapping never hides the final state. With the flapping notice the router
/// schedules a one-time settle check (EventBridge Scheduler); the check, run by the real binary
/// under the local Runtime API as Scheduler would invoke it, reschedules while the alarm still
/// changes, then sends exactly one `[SETTLED] OK`, which resolves the pager's incident.
#[tokio::test]
async fn after_flapping_one_settled_notification_resolves_the_page() {
    use alarm_router::settle::{NAME_PREFIX, SettleSettings};
    use e2e::{Completion, RuntimeApi, binary};
    let fx = Fixture::new().await;
    fx.put_alarm("flappy", &[("severity", "critical")]).await;
    let settle = SettleSettings {
        target_arn: format!(
            "arn:aws:lambda:us-east-1:{}:function:platform-alarm-router",
            fx.account.id
        ),
        role_arn: format!("arn:aws:iam::{}:role/platform-alarm-settle", fx.account.id),
        minutes: 5,
    };
    let settings = RouterSettings {
        noise: NoiseSettings {
            flap_threshold: 2,
            ..fx.settings(Environment::Prod).noise
        },
        pager: TopicPair {
            standard: None,
            critical: Some(fx.pager_topic.clone()),
        },
        settle: Some(settle.clone()),
        ..fx.settings(Environment::Prod)
    };
    let router = fx.router(settings);
    for state in [StateValue::Alarm, StateValue::Ok, StateValue::Alarm] {
        fx.set_state("flappy", state).await;
    }
    let notice = fx.event("metric-alarm.json", "flappy");
    let output = router.handle(notice.clone()).await.expect("routed");
    assert_eq!(
        output["reason"],
        "3 state changes in 60 minutes: one flapping notice"
    );
    // A repeated delivery of the same change schedules no second check.
    router.handle(notice).await.expect("routed again");
    let scheduler = aws_sdk_scheduler::Client::new(&fx.account.observer());
    let pending = |scheduler: aws_sdk_scheduler::Client| async move {
        scheduler
            .list_schedules()
            .name_prefix(NAME_PREFIX)
            .send()
            .await
            .expect("schedules")
            .schedules()
            .iter()
            .filter_map(|s| s.name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let names = pending(scheduler.clone()).await;
    assert_eq!(names.len(), 1, "{names:?}");
    let schedule = scheduler
        .get_schedule()
        .name(&names[0])
        .send()
        .await
        .expect("schedule");
    assert!(
        schedule
            .schedule_expression()
            .is_some_and(|e| e.starts_with("at(")),
        "{schedule:?}"
    );
    let target = schedule.target().expect("target");
    assert_eq!(target.arn(), settle.target_arn);
    assert_eq!(target.role_arn(), settle.role_arn);
    let first_check: Value = serde_json::from_str(target.input().expect("input")).expect("JSON");
    let pages = fx.drain(&fx.pager_queue, 2).await;
    assert_eq!(pages.len(), 2, "the notice, twice delivered");

    // The alarm recovers and stays OK; the router, still in the window, keeps quiet.
    fx.set_state("flappy", StateValue::Ok).await;
    let ok = router
        .handle(fx.event("metric-ok.json", "flappy"))
        .await
        .expect("routed");
    assert_eq!(ok["rule"], "flapping", "{ok}");

    // Scheduler invokes the router's binary with the check.
    let api = RuntimeApi::start().await;
    let mut env = fx.account.lambda_env();
    for (name, value) in [
        ("ENVIRONMENT", "prod"),
        ("ALERT_TOPIC_ARN", fx.alerts_topic.as_str()),
        ("CRITICAL_TOPIC_ARN", fx.critical_topic.as_str()),
        ("CRITICAL_PAGER_TOPIC_ARN", fx.pager_topic.as_str()),
        ("SETTLE_TARGET_ARN", settle.target_arn.as_str()),
        ("SETTLE_ROLE_ARN", settle.role_arn.as_str()),
        ("SETTLE_MINUTES", "5"),
    ] {
        env.push((name.to_owned(), value.to_owned()));
    }
    let _function = api.spawn(&binary("debug", "alarm-router"), &env);
    let timeout = std::time::Duration::from_secs(30);
    let Completion::Response(too_soon) = api.invoke(first_check, timeout).await else {
        panic!("the settle check failed");
    };
    assert_eq!(too_soon["action"], "rescheduled", "{too_soon}");
    assert!(
        too_soon["reason"]
            .as_str()
            .is_some_and(|r| r.contains("checking again at at(")),
        "{too_soon}"
    );
    // The next check is the pending one, or one more in a later minute.
    assert!(!pending(scheduler.clone()).await.is_empty());
    assert_eq!(
        fx.drain(&fx.critical_queue, 2).await.len(),
        2,
        "the two notices, and nothing settled yet"
    );

    // The alarm has held OK long enough; Scheduler runs the pending checks in their order, and
    // only the last one sends.
    fx.account.age_alarm("flappy", 6).await;
    let mut names = pending(scheduler.clone()).await;
    names.sort();
    let mut answers = Vec::new();
    for name in &names {
        let schedule = scheduler
            .get_schedule()
            .name(name)
            .send()
            .await
            .expect("schedule");
        let input = schedule.target().and_then(|t| t.input()).expect("input");
        let check: Value = serde_json::from_str(input).expect("JSON");
        let Completion::Response(answer) = api.invoke(check, timeout).await else {
            panic!("the settle check failed");
        };
        answers.push(answer);
    }
    let (settled, earlier) = answers.split_last().expect("a pending check");
    assert_eq!(settled["action"], "published", "{settled}");
    assert_eq!(settled["reason"], "settled in OK after flapping");
    for answer in earlier {
        assert_eq!(
            answer["reason"], "a later settle check of the alarm is pending: it will send",
            "{answer}"
        );
    }
    let critical = fx.drain(&fx.critical_queue, 1).await;
    assert_eq!(critical.len(), 1, "exactly one settled notification");
    assert_eq!(critical[0].0, "[SETTLED] OK flappy (prod)");
    let page = fx.drain(&fx.pager_queue, 1).await;
    assert_eq!(page.len(), 1);
    let page: Value = serde_json::from_str(&page[0].1).expect("CloudWatch JSON");
    assert_eq!(page["NewStateValue"], "OK");
    assert_eq!(
        page["AlarmArn"],
        format!(
            "arn:aws:cloudwatch:us-east-1:{}:alarm:flappy",
            fx.account.id
        ),
        "the same incident key as the ALARM it resolves"
    );
}

/// Issue 23 §3, deploy noise: while an alarm's stack is mid-update or its ECS service rolls
/// out, a change that is not critical is held (and the state it settles in sent afterwards); a
/// critical one goes out and says a deployment is running.
#[tokio::test]
async fn changes_during_a_deployment_are_held_unless_critical() {
    use alarm_router::settle::{NAME_PREFIX, SettleSettings};
    let fx = Fixture::new().await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&fx.account.observer());
    let stack = cloudformation
        .create_stack()
        .stack_name("orders-platform")
        .template_body(
            r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#,
        )
        .send()
        .await
        .expect("stack")
        .stack_id
        .expect("stack id");
    let owned = |severity: &'static str| {
        [
            ("severity", severity),
            ("stackhand:stack-id", stack.as_str()),
        ]
    };
    fx.put_alarm("orders-latency", &owned("warning")).await;
    fx.put_alarm("orders-down", &owned("critical")).await;
    fx.account
        .set_stack_status(&stack, "UPDATE_IN_PROGRESS")
        .await;
    let router = fx.router(RouterSettings {
        settle: Some(SettleSettings {
            target_arn: format!(
                "arn:aws:lambda:us-east-1:{}:function:platform-alarm-router",
                fx.account.id
            ),
            role_arn: format!("arn:aws:iam::{}:role/platform-alarm-settle", fx.account.id),
            minutes: 10,
        }),
        ..fx.settings(Environment::Prod)
    });
    // Not the sample's ECS service: this is about the stack.
    let event = |alarm: &str| {
        let mut event = fx.event("metric-alarm.json", alarm);
        event["detail"]["configuration"]["metrics"] = json!([]);
        event
    };

    let held = router
        .handle(event("orders-latency"))
        .await
        .expect("routed");
    assert_eq!(
        (held["action"].as_str(), held["rule"].as_str()),
        (Some("suppressed"), Some("deploying")),
        "{held}"
    );
    assert!(
        held["reason"]
            .as_str()
            .is_some_and(|r| r.contains("stack orders-platform is UPDATE_IN_PROGRESS")),
        "{held}"
    );
    assert!(fx.received(&fx.alerts_queue).await.is_empty());
    let scheduler = aws_sdk_scheduler::Client::new(&fx.account.observer());
    let pending = scheduler
        .list_schedules()
        .name_prefix(NAME_PREFIX)
        .send()
        .await
        .expect("schedules");
    assert_eq!(
        pending.schedules().len(),
        1,
        "the held change's settle check"
    );

    let critical = router.handle(event("orders-down")).await.expect("routed");
    assert_eq!(critical["action"], "published", "{critical}");
    let page = fx.received(&fx.critical_queue).await;
    assert!(
        page[0].1.contains(
            "A deployment is running: stack orders-platform is UPDATE_IN_PROGRESS. Critical alarms are sent even so."
        ),
        "{}",
        page[0].1
    );

    // The update done, changes go out again.
    fx.account.set_stack_status(&stack, "UPDATE_COMPLETE").await;
    let after = router
        .handle(event("orders-latency"))
        .await
        .expect("routed");
    assert_eq!(after["action"], "published", "{after}");

    // An ECS service rolling out (moto: fewer tasks running than desired), named by the
    // alarm's dimensions, holds its alarms too.
    let ecs = aws_sdk_ecs::Client::new(&fx.account.observer());
    orders_cluster_with_api_task(&ecs).await;
    ecs.create_service()
        .cluster("orders")
        .service_name("api")
        .task_definition("api")
        .desired_count(2)
        .send()
        .await
        .expect("service");
    fx.put_alarm("orders-api-cpu-high", &[("severity", "warning")])
        .await;
    let rolling = router
        .handle(fx.event("metric-alarm.json", "orders-api-cpu-high"))
        .await
        .expect("routed");
    assert_eq!(rolling["rule"], "deploying", "{rolling}");
    assert!(
        rolling["reason"]
            .as_str()
            .is_some_and(|r| r.contains("ECS service api in orders is deploying")),
        "{rolling}"
    );
}

/// Issue 23 §5: an alarm on a metric a metric filter makes (the baseline's error filter) links
/// Logs Insights on the filter's log group, in the text and in chat's next steps.
#[tokio::test]
async fn a_log_error_alarm_links_its_log_group_in_logs_insights() {
    let fx = Fixture::new().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&fx.account.observer());
    logs.create_log_group()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("log group");
    logs.put_metric_filter()
        .log_group_name("/orders/api")
        .filter_name("orders-errors")
        .filter_pattern("ERROR")
        .metric_transformations(
            aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                .metric_namespace("Stackhand/orders")
                .metric_name("LogErrors")
                .metric_value("1")
                .build()
                .expect("transformation"),
        )
        .send()
        .await
        .expect("metric filter");
    fx.put_alarm("orders-log-errors", &[("severity", "warning")])
        .await;
    let mut event = fx.event("metric-alarm.json", "orders-log-errors");
    event["detail"]["configuration"]["metrics"] = json!([{"id": "m1", "metricStat": {
        "metric": {"namespace": "Stackhand/orders", "name": "LogErrors", "dimensions": {}},
        "period": 300, "stat": "Sum"}, "returnData": true}]);
    let router = fx.router(RouterSettings {
        chat: TopicPair {
            standard: Some(fx.chat_topic.clone()),
            critical: None,
        },
        ..fx.settings(Environment::Prod)
    });
    let output = router.handle(event).await.expect("routed");
    assert_eq!(output["action"], "published", "{output}");
    let text = fx.received(&fx.alerts_queue).await;
    assert!(
        text[0].1.contains("Logs Insights (/orders/api): https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:logs-insights"),
        "{}",
        text[0].1
    );
    let chat = fx.received(&fx.chat_queue).await;
    let chat: Value = serde_json::from_str(&chat[0].1).expect("chat JSON");
    let steps = chat["content"]["nextSteps"].to_string();
    assert!(
        steps.contains("Search the logs of /orders/api: https://"),
        "{steps}"
    );
}
