//! The lifecycle the demo runs, step by step.

use crate::platform::Platform;
use crate::ui::Report;
use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_kms::types::KeyState;
use e2e::{ResponseListener, emulator};
use serde_json::{Value, json};
use shared::Environment;

pub const STEPS: usize = 23;
const KEYS: &str = "Custom::KmsKeySet";
const TOPIC: &str = "Custom::AlertTopic";
const LOGS: &str = "Custom::LogGroup";
const BASELINE: &str = "Custom::AlarmBaseline";
const DASHBOARD: &str = "Custom::Dashboard";
const CLUSTER: &str = "Custom::EcsCluster";

/// Where an Update takes the platform: the next environment (prod stays prod, with a second
/// service).
fn next(env: Environment) -> Environment {
    match env {
        Environment::Dev => Environment::Qa,
        Environment::Qa => Environment::Uat,
        Environment::Uat | Environment::Prod => Environment::Prod,
    }
}

struct Props {
    env: Environment,
    main_key: String,
    services: Vec<&'static str>,
}

impl Props {
    fn keys(&self) -> Value {
        json!({"Environment": self.env.as_str(), "Prefix": "demo", "Tags": [{"Key": "layer", "Value": "security"}]})
    }
    fn topic(&self, name: &str, severity: &str) -> Value {
        json!({"Environment": self.env.as_str(), "TopicName": name, "Severity": severity, "KmsKeyArn": self.main_key})
    }
    fn logs(&self) -> Value {
        let mut props =
            json!({"Environment": self.env.as_str(), "LogGroupName": "/demo/platform/application"});
        if self.env.profile().encryption_required {
            props["KmsKeyArn"] = json!(self.main_key);
        }
        props
    }
    fn baseline(&self) -> Value {
        json!({"Environment": self.env.as_str(), "Prefix": "demo", "ClusterName": "demo", "ServiceNames": self.services,
               "LogGroupName": "/demo/platform/application"})
    }
    fn dashboard(&self) -> Value {
        json!({"Environment": self.env.as_str(), "DashboardName": "demo-platform", "DashboardBody": {"widgets": [
            {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": format!("# demo platform ({})", self.env)}},
            {"type": "metric", "x": 0, "y": 2, "width": 12, "height": 6, "properties": {"title": "Cluster CPU", "region": "us-east-1",
                "metrics": [["AWS/ECS", "CPUUtilization", "ClusterName", "demo"]], "stat": "Average", "period": 300}}]}})
    }
    fn cluster(&self) -> Value {
        let mut props = json!({"Environment": self.env.as_str(), "ClusterName": "demo"});
        if self.env.profile().ecs_exec {
            props["ExecuteCommandKmsKeyArn"] = json!(self.main_key);
        }
        props
    }
}

async fn retention(p: &Platform) -> String {
    let logs = aws_sdk_cloudwatchlogs::Client::new(&p.account.config);
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix("/demo/platform/application")
        .send()
        .await
        .ok();
    match out.as_ref().and_then(|o| o.log_groups().first()) {
        Some(g) => format!(
            "retention {} days, encryption {}",
            g.retention_in_days()
                .map_or("none".to_owned(), |d| d.to_string()),
            if g.kms_key_id().is_some() {
                "on"
            } else {
                "off"
            }
        ),
        None => "absent".to_owned(),
    }
}

pub async fn run(report: &mut Report, env: Environment) {
    let emulator = emulator();
    println!(
        "  emulator: moto + stackhand extension at {}",
        emulator.endpoint
    );
    let account = emulator.new_account().await;
    println!(
        "  account:  {} (isolated through STS AssumeRole)",
        account.id
    );
    let listener = ResponseListener::start().await;
    let mut p = Platform::new(account, listener, &format!("demo-{env}"));
    for function in ["kms-provider", "monitoring-provider", "ecs-provider"] {
        p.start(report, function, &[]).await;
    }
    let kms = aws_sdk_kms::Client::new(&p.account.config);
    let mut props = Props {
        env,
        main_key: String::new(),
        services: vec!["api"],
    };

    // --- security ---
    report.layer("security", "the environment's KMS keys");
    let put = p
        .custom(
            report,
            "kms-provider",
            "Create Custom::KmsKeySet demo",
            &format!(
                "the {env} profile's keys: {}",
                env.profile().key_set.join(", ")
            ),
            p.events.create(KEYS, "Keys", props.keys()),
            "SUCCESS",
        )
        .await;
    props.main_key = put
        .as_ref()
        .map(|p| p.data("MainKeyArn").to_owned())
        .unwrap_or_default();
    let key_count_before = put
        .as_ref()
        .map(|p| p.data("KeyCount").to_owned())
        .unwrap_or_default();
    p.custom(
        report,
        "kms-provider",
        "Create Custom::KmsKey (expected to fail)",
        "RotationPeriodInDays 10, which KMS does not allow",
        p.events.create(
            "Custom::KmsKey",
            "BadKey",
            json!({"Environment": env.as_str(), "RotationPeriodInDays": 10}),
        ),
        "FAILED",
    )
    .await;

    // --- monitoring ---
    report.layer(
        "monitoring",
        "alert topics, an encrypted log group, the alarm baseline, a dashboard",
    );
    let alerts = p
        .custom(
            report,
            "monitoring-provider",
            "Create Custom::AlertTopic demo-alerts",
            "a standard topic encrypted with the main key",
            p.events
                .create(TOPIC, "Alerts", props.topic("demo-alerts", "standard")),
            "SUCCESS",
        )
        .await;
    let critical = p
        .custom(
            report,
            "monitoring-provider",
            "Create Custom::AlertTopic demo-critical",
            "a critical topic encrypted with the main key",
            p.events
                .create(TOPIC, "Critical", props.topic("demo-critical", "critical")),
            "SUCCESS",
        )
        .await;
    p.custom(
        report,
        "monitoring-provider",
        "Create Custom::LogGroup",
        "the profile's retention; the main key where encryption is required",
        p.events.create(LOGS, "AppLogs", props.logs()),
        "SUCCESS",
    )
    .await;
    report.line("in AWS", &retention(&p).await);
    let baseline = p
        .custom(
            report,
            "monitoring-provider",
            "Create Custom::AlarmBaseline demo",
            "the profile's alarm set over cluster demo, service api, and the log errors",
            p.events.create(BASELINE, "Baseline", props.baseline()),
            "SUCCESS",
        )
        .await;
    p.custom(
        report,
        "monitoring-provider",
        "Create Custom::Dashboard demo-platform",
        "a dashboard body, checked before the call",
        p.events.create(DASHBOARD, "Board", props.dashboard()),
        "SUCCESS",
    )
    .await;

    // --- compute ---
    report.layer("compute", "the Fargate cluster");
    p.custom(
        report,
        "ecs-provider",
        "Create Custom::EcsCluster demo",
        "Container Insights, the profile's capacity strategy, ECS Exec where allowed",
        p.events.create(CLUSTER, "Cluster", props.cluster()),
        "SUCCESS",
    )
    .await;

    // --- an alarm fires ---
    report.layer(
        "alarm",
        "an alarm goes to ALARM; alarm-router routes it to SNS",
    );
    let topic_arn = |put: &Option<e2e::RecordedPut>| {
        put.as_ref()
            .map(|p| p.data("TopicArn").to_owned())
            .unwrap_or_default()
    };
    let (alerts_arn, critical_arn) = (topic_arn(&alerts), topic_arn(&critical));
    let sqs = aws_sdk_sqs::Client::new(&p.account.config);
    let sns = aws_sdk_sns::Client::new(&p.account.config);
    let queue = sqs
        .create_queue()
        .queue_name("demo-inbox")
        .send()
        .await
        .ok()
        .and_then(|q| q.queue_url)
        .unwrap_or_default();
    for topic in [&alerts_arn, &critical_arn] {
        let _ = sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:us-east-1:{}:demo-inbox", p.account.id))
            .send()
            .await;
    }
    p.start(
        report,
        "alarm-router",
        &[
            ("ENVIRONMENT", env.to_string()),
            ("ALERT_TOPIC_ARN", alerts_arn.clone()),
            ("CRITICAL_TOPIC_ARN", critical_arn.clone()),
        ],
    )
    .await;
    let cw = aws_sdk_cloudwatch::Client::new(&p.account.config);
    // The baseline answers its alarms' name prefix; CloudWatch lists them.
    let prefix = baseline
        .as_ref()
        .map(|b| b.data("AlarmNamePrefix").to_owned())
        .unwrap_or_default();
    let names: Vec<String> = match cw.describe_alarms().alarm_name_prefix(&prefix).send().await {
        Ok(out) => out
            .metric_alarms()
            .iter()
            .filter_map(|a| a.alarm_name().map(str::to_owned))
            .collect(),
        Err(_) => Vec::new(),
    };
    let alarm = names
        .iter()
        .find(|n| n.as_str() == "demo-cluster-tasks-none")
        .or(names.first())
        .cloned()
        .unwrap_or_default();
    let _ = cw
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(StateValue::Alarm)
        .state_reason("demo: no task running")
        .send()
        .await;
    let event = alarm_event(&cw, &p.account.id, &alarm).await;
    if let Some(output) = p.invoke(report, "alarm-router", &format!("Route {alarm} OK -> ALARM"), "the EventBridge \"CloudWatch Alarm State Change\" event, as the template's rule sends it", event).await {
        report.line("routed", &format!("{} severity {} to {}", output["action"], output["severity"], output["topicArn"].as_str().unwrap_or_default().rsplit(':').next().unwrap_or_default()));
        let received = sqs.receive_message().queue_url(&queue).max_number_of_messages(1).send().await.ok();
        if let Some(message) = received.as_ref().and_then(|r| r.messages().first()) {
            let envelope: Value = serde_json::from_str(message.body().unwrap_or_default()).unwrap_or_default();
            println!("  received on the SQS subscription:");
            println!("    Subject: {}", envelope["Subject"].as_str().unwrap_or_default());
            for line in envelope["Message"].as_str().unwrap_or_default().lines().filter(|l| !l.is_empty()).take(12) {
                println!("    | {line}");
            }
            let attributes: Vec<String> = envelope["MessageAttributes"].as_object().map(|a| a.iter().map(|(k, v)| format!("{k}={}", v["Value"].as_str().unwrap_or_default())).collect()).unwrap_or_default();
            println!("    attributes: {}", attributes.join(", "));
        }
    }

    // --- rotation and audit ---
    report.layer(
        "keys",
        "key-rotator and key-auditor over every key in the account",
    );
    let hand_made = kms
        .create_key()
        .description("made by hand, rotation off")
        .send()
        .await
        .ok()
        .and_then(|k| k.key_metadata)
        .map(|m| m.key_id)
        .unwrap_or_default();
    let _ = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .description("a signing key")
        .send()
        .await;
    println!(
        "  setup:    two keys made outside the stacks: {hand_made} (symmetric, rotation off) and an RSA signing key"
    );
    p.start(report, "key-rotator", &[]).await;
    p.start(report, "key-auditor", &[("REQUIRED_TAGS", String::new())])
        .await;
    let show_actions = |report: &Report, output: &Value| {
        for a in output["actions"].as_array().into_iter().flatten() {
            report.line(
                a["action"].as_str().unwrap_or_default(),
                &format!(
                    "{} ({})",
                    a["keyId"].as_str().unwrap_or_default(),
                    a["reason"].as_str().unwrap_or_default()
                ),
            );
        }
    };
    if let Some(output) = p
        .invoke(
            report,
            "key-rotator",
            "key-rotator, dry run",
            "{\"dryRun\": true}: report what would change",
            json!({"dryRun": true}),
        )
        .await
    {
        show_actions(report, &output);
    }
    if let Some(output) = p
        .invoke(
            report,
            "key-rotator",
            "key-rotator, for real",
            "an EventBridge Scheduler event",
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"}),
        )
        .await
    {
        show_actions(report, &output);
    }
    if let Some(output) = p
        .invoke(
            report,
            "key-auditor",
            "key-auditor",
            "a scheduled audit of every key",
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
        )
        .await
    {
        report.line(
            "scanned",
            &format!(
                "{} keys, {}% of customer-managed keys compliant",
                output["keysScanned"], output["compliancePercent"]
            ),
        );
        for (check, count) in output["summary"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, c)| c.as_u64() != Some(0))
        {
            report.line("finding", &format!("{check}: {count}"));
        }
    }

    // --- update to the next environment ---
    let target = next(env);
    report.layer(
        "update",
        &format!("{env} -> {target}: what the profile changes"),
    );
    let old = Props {
        env,
        main_key: props.main_key.clone(),
        services: props.services.clone(),
    };
    let new = Props {
        env: target,
        main_key: props.main_key.clone(),
        services: if env == Environment::Prod {
            vec!["api", "worker"]
        } else {
            vec!["api"]
        },
    };
    let put = p
        .custom(
            report,
            "kms-provider",
            &format!("Update Custom::KmsKeySet to {target}"),
            "Environment changes the key set",
            p.events
                .update(KEYS, "Keys", "keyset/demo", old.keys(), new.keys()),
            "SUCCESS",
        )
        .await;
    report.line(
        "keys",
        &format!(
            "{key_count_before} -> {}",
            put.as_ref().map(|p| p.data("KeyCount")).unwrap_or_default()
        ),
    );
    let key_ids: Vec<String> = ["Main", "Data", "Rds", "S3", "Ebs"]
        .iter()
        .filter_map(|stem| {
            put.as_ref()
                .map(|p| p.data(&format!("{stem}KeyId")).to_owned())
                .filter(|id| !id.is_empty())
        })
        .collect();
    let before = retention(&p).await;
    p.custom(
        report,
        "monitoring-provider",
        &format!("Update Custom::LogGroup to {target}"),
        "Environment changes retention and encryption",
        p.events.update(
            LOGS,
            "AppLogs",
            "/demo/platform/application",
            old.logs(),
            new.logs(),
        ),
        "SUCCESS",
    )
    .await;
    report.line("log group", &format!("{before} -> {}", retention(&p).await));
    let put = p
        .custom(
            report,
            "monitoring-provider",
            &format!("Update Custom::AlarmBaseline to {target}"),
            "Environment changes the alarm set",
            p.events.update(
                BASELINE,
                "Baseline",
                "baseline/demo",
                old.baseline(),
                new.baseline(),
            ),
            "SUCCESS",
        )
        .await;
    report.line(
        "alarms",
        &format!(
            "{} -> {}",
            baseline
                .as_ref()
                .map(|b| b.data("AlarmCount"))
                .unwrap_or_default(),
            put.as_ref()
                .map(|p| p.data("AlarmCount"))
                .unwrap_or_default()
        ),
    );
    p.custom(
        report,
        "ecs-provider",
        &format!("Update Custom::EcsCluster to {target}"),
        "Environment changes capacity, Exec and Service Connect",
        p.events
            .update(CLUSTER, "Cluster", "demo", old.cluster(), new.cluster()),
        "SUCCESS",
    )
    .await;

    // --- teardown ---
    report.layer("delete", "the stacks are deleted, newest layer first");
    p.custom(
        report,
        "monitoring-provider",
        "Delete Custom::Dashboard",
        "the monitoring stack goes first",
        p.events
            .delete(DASHBOARD, "Board", "demo-platform", new.dashboard()),
        "SUCCESS",
    )
    .await;
    p.custom(
        report,
        "monitoring-provider",
        "Delete Custom::AlarmBaseline",
        "everything the baseline made, nothing else",
        p.events
            .delete(BASELINE, "Baseline", "baseline/demo", new.baseline()),
        "SUCCESS",
    )
    .await;
    p.custom(
        report,
        "monitoring-provider",
        "Delete Custom::LogGroup",
        "deleted in dev and qa, retained in uat and prod",
        p.events
            .delete(LOGS, "AppLogs", "/demo/platform/application", new.logs()),
        "SUCCESS",
    )
    .await;
    report.line("in AWS", &retention(&p).await);
    p.custom(
        report,
        "monitoring-provider",
        "Delete Custom::AlertTopic demo-critical",
        "topics and their subscriptions",
        p.events.delete(
            TOPIC,
            "Critical",
            &critical_arn,
            old.topic("demo-critical", "critical"),
        ),
        "SUCCESS",
    )
    .await;
    p.custom(
        report,
        "monitoring-provider",
        "Delete Custom::AlertTopic demo-alerts",
        "topics and their subscriptions",
        p.events.delete(
            TOPIC,
            "Alerts",
            &alerts_arn,
            old.topic("demo-alerts", "standard"),
        ),
        "SUCCESS",
    )
    .await;
    p.custom(
        report,
        "ecs-provider",
        "Delete Custom::EcsCluster",
        "refused while services are active; this cluster has none",
        p.events.delete(CLUSTER, "Cluster", "demo", new.cluster()),
        "SUCCESS",
    )
    .await;
    p.custom(
        report,
        "kms-provider",
        "Delete Custom::KmsKeySet",
        "keys are scheduled for deletion (or retained), never deleted",
        p.events.delete(KEYS, "Keys", "keyset/demo", new.keys()),
        "SUCCESS",
    )
    .await;
    for id in key_ids {
        let key = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .ok()
            .and_then(|k| k.key_metadata);
        let state = key.as_ref().and_then(|k| k.key_state().cloned());
        let detail = match (&state, key.as_ref().and_then(|k| k.deletion_date())) {
            (Some(KeyState::PendingDeletion), Some(date)) => format!(
                "PendingDeletion until {}",
                date.fmt(aws_sdk_kms::primitives::DateTimeFormat::DateTime)
                    .unwrap_or_default()
            ),
            (Some(s), _) => format!("{} (retained)", s.as_str()),
            _ => "unknown".to_owned(),
        };
        report.line("key", &format!("{id}: {detail}"));
    }
}

/// The EventBridge event CloudWatch sends for `alarm` going OK -> ALARM, built from the alarm's
/// real definition, as the template's rule delivers it.
async fn alarm_event(cw: &aws_sdk_cloudwatch::Client, account: &str, alarm: &str) -> Value {
    let described = cw.describe_alarms().alarm_names(alarm).send().await.ok();
    let live = described.as_ref().and_then(|d| d.metric_alarms().first());
    let dimensions: serde_json::Map<String, Value> = live
        .map(|a| {
            a.dimensions()
                .iter()
                .filter_map(|d| Some((d.name()?.to_owned(), json!(d.value()?))))
                .collect()
        })
        .unwrap_or_default();
    let threshold = live.and_then(|a| a.threshold()).unwrap_or_default();
    let reason_data = json!({"version": "1.0", "statistic": live.and_then(|a| a.statistic()).map(|s| s.as_str()), "period": live.and_then(|a| a.period()),
        "recentDatapoints": [0.0], "threshold": threshold});
    json!({
        "version": "0", "id": "5eed0000-demo-4000-8000-000000000009", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": account, "time": "2026-11-26T10:15:30Z", "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": format!("Threshold Crossed: 1 out of the last 1 datapoints [0.0] was less than the threshold ({threshold})"),
                      "reasonData": reason_data.to_string(), "timestamp": "2026-11-26T10:15:30.125+0000"},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": "2026-11-26T09:15:30.125+0000"},
            "configuration": {
                "description": live.and_then(|a| a.alarm_description()),
                "metrics": [{"id": "m1", "returnData": true, "metricStat": {
                    "metric": {"namespace": live.and_then(|a| a.namespace()), "name": live.and_then(|a| a.metric_name()).unwrap_or_default(), "dimensions": dimensions},
                    "period": live.and_then(|a| a.period()), "stat": live.and_then(|a| a.statistic()).map(|s| s.as_str())}}]
            }
        }
    })
}
