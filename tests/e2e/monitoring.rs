//! The monitoring types end to end: metric and composite alarms, dashboards, metric filters,
//! query definitions, alert topics and the alarm baseline, checked in the emulator.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use aws_sdk_cloudwatch::types::AlarmType;
use common::Fixture;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn cw(fx: &Fixture) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&fx.account.observer())
}

async fn alarm_names(fx: &Fixture) -> BTreeSet<String> {
    common::alarm_names(&fx.account).await
}

async fn alarm_tags(fx: &Fixture, arn: &str) -> std::collections::HashMap<String, String> {
    cw(fx)
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("tags")
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect()
}

/// What CloudWatch bills monthly for the alarms under `prefix` (but `except`) and every
/// dashboard, counted from what it describes, at the published prices: the estimate a baseline
/// returns must be what it actually made.
async fn billed_live(fx: &Fixture, prefix: &str, except: &str) -> String {
    use shared::cost::{Billed, Prices};
    let alarms = cw(fx)
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .expect("alarms");
    let mut billed = Billed::NONE;
    for alarm in alarms.metric_alarms() {
        if alarm.alarm_name() == Some(except) {
            continue;
        }
        let (metrics, periods): (u32, Vec<i32>) = match alarm.metrics() {
            [] => (1, vec![alarm.period().unwrap_or(60)]),
            queries => {
                let stats: Vec<i32> = queries
                    .iter()
                    .filter_map(|q| q.metric_stat().and_then(|m| m.period()))
                    .collect();
                // An anomaly band's bounds count as two alarm metrics.
                let bands = queries
                    .iter()
                    .filter(|q| {
                        q.expression()
                            .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND"))
                    })
                    .count() as u32;
                (stats.len() as u32 + 2 * bands, stats)
            }
        };
        if periods.iter().any(|p| *p < 60) {
            billed.high_resolution_alarm_metrics += metrics;
        } else {
            billed.alarm_metrics += metrics;
        }
    }
    billed.composite_alarms = alarms.composite_alarms().len() as u32;
    billed.dashboards = cw(fx)
        .list_dashboards()
        .send()
        .await
        .expect("dashboards")
        .dashboard_entries()
        .len() as u32;
    billed.attribute(&Prices::published())
}

fn cpu_alarm(name: &str, threshold: u32) -> Value {
    json!({"Environment": "dev", "AlarmName": name, "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
        "Dimensions": {"ClusterName": "orders"}, "Statistic": "Average", "Period": "300", "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
        "Threshold": threshold, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "breaching",
        "Severity": "critical", "Runbook": "https://runbooks.example.com/cpu"})
}

#[tokio::test]
async fn a_metric_alarm_lives_updates_in_place_is_replaced_and_deleted() {
    let fx = Fixture::new().await;
    let v1 = cpu_alarm("orders-cpu", 80);
    let put = fx
        .send(fx.events.create("Custom::MetricAlarm", "Cpu", v1.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "orders-cpu");
    let arn = put.data("Arn").to_owned();
    assert_eq!(
        arn,
        format!(
            "arn:aws:cloudwatch:us-east-1:{}:alarm:orders-cpu",
            fx.account.id
        )
    );
    let tags = alarm_tags(&fx, &arn).await;
    assert_eq!(tags.get("severity").map(String::as_str), Some("critical"));
    assert_eq!(
        tags.get("runbook").map(String::as_str),
        Some("https://runbooks.example.com/cpu")
    );
    let live = cw(&fx)
        .describe_alarms()
        .alarm_names("orders-cpu")
        .send()
        .await
        .expect("describe");
    let alarm = &live.metric_alarms()[0];
    assert_eq!(
        (
            alarm.threshold(),
            alarm.evaluation_periods(),
            alarm.datapoints_to_alarm()
        ),
        (Some(80.0), Some(3), Some(2))
    );

    let mut v2 = cpu_alarm("orders-cpu", 90);
    v2["Severity"] = json!("warning");
    v2.as_object_mut().expect("object").remove("Runbook");
    let put = fx
        .send(
            fx.events
                .update("Custom::MetricAlarm", "Cpu", "orders-cpu", v1, v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cw(&fx)
        .describe_alarms()
        .alarm_names("orders-cpu")
        .send()
        .await
        .expect("describe");
    assert_eq!(live.metric_alarms()[0].threshold(), Some(90.0));
    let tags = alarm_tags(&fx, &arn).await;
    assert_eq!(tags.get("severity").map(String::as_str), Some("warning"));
    assert!(!tags.contains_key("runbook"));

    let v3 = cpu_alarm("orders-cpu-v2", 90);
    let put = fx
        .send(fx.events.update(
            "Custom::MetricAlarm",
            "Cpu",
            "orders-cpu",
            v2.clone(),
            v3.clone(),
        ))
        .await;
    assert_eq!(put.physical_id(), "orders-cpu-v2");
    assert_eq!(
        alarm_names(&fx).await,
        ["orders-cpu", "orders-cpu-v2"].map(String::from).into()
    );
    for (id, props) in [
        ("orders-cpu", v2),
        ("orders-cpu-v2", v3.clone()),
        ("orders-cpu-v2", v3),
    ] {
        let put = fx
            .send(fx.events.delete("Custom::MetricAlarm", "Cpu", id, props))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    assert!(alarm_names(&fx).await.is_empty());
}

#[tokio::test]
async fn an_anomaly_band_alarm_gets_its_detector_and_loses_it_on_delete() {
    let fx = Fixture::new().await;
    let props = json!({"Environment": "prod", "AlarmName": "requests-anomaly", "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
        "Dimensions": [{"Name": "LoadBalancer", "Value": "app/orders/1"}], "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 2, "AnomalyBandWidth": "2"});
    let put = fx
        .send(
            fx.events
                .create("Custom::MetricAlarm", "Anomaly", props.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    // CloudWatch bills an anomaly alarm as three alarm metrics: the metric and its two bounds.
    assert_eq!(put.data("EstimatedMonthlyCostUsd"), "0.30");
    let live = cw(&fx)
        .describe_alarms()
        .alarm_names("requests-anomaly")
        .send()
        .await
        .expect("describe");
    let alarm = &live.metric_alarms()[0];
    assert_eq!(alarm.threshold_metric_id(), Some("ad1"));
    assert!(
        alarm
            .metrics()
            .iter()
            .any(|m| m.expression() == Some("ANOMALY_DETECTION_BAND(m1, 2)"))
    );
    let detectors = cw(&fx)
        .describe_anomaly_detectors()
        .send()
        .await
        .expect("detectors");
    assert_eq!(detectors.anomaly_detectors().len(), 1);
    let put = fx
        .send(
            fx.events
                .delete("Custom::MetricAlarm", "Anomaly", "requests-anomaly", props),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(
        cw(&fx)
            .describe_anomaly_detectors()
            .send()
            .await
            .expect("detectors")
            .anomaly_detectors()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_alarm_input_fails_before_anything_is_made() {
    let fx = Fixture::new().await;
    let mut bigger = cpu_alarm("bad", 1);
    bigger["ComparisonOperator"] = json!("Bigger");
    let mut period = cpu_alarm("bad", 1);
    period["Period"] = json!(45);
    let mut both = cpu_alarm("bad", 1);
    both["ExtendedStatistic"] = json!("p99");
    let mut severity = cpu_alarm("bad", 1);
    severity["Severity"] = json!("urgent");
    for (props, property) in [
        (bigger, "ComparisonOperator"),
        (period, "Period"),
        (both, "Statistic"),
        (severity, "Severity"),
    ] {
        let put = fx
            .send(fx.events.create("Custom::MetricAlarm", "Bad", props))
            .await;
        assert_eq!(put.status(), "FAILED");
        assert!(
            put.reason()
                .starts_with(&format!("Custom::MetricAlarm: {property} ")),
            "{}",
            put.reason()
        );
    }
    let put = fx
        .send(fx.events.create(
            "Custom::CompositeAlarm",
            "Bad",
            json!({"Environment": "dev", "AlarmName": "c", "AlarmRule": ""}),
        ))
        .await;
    assert!(
        put.reason()
            .starts_with("Custom::CompositeAlarm: AlarmRule must not be empty"),
        "{}",
        put.reason()
    );
    let put = fx.send(fx.events.create("Custom::CompositeAlarm", "Bad", json!({"Environment": "dev", "AlarmName": "c", "AlarmRule": "ALARM(ghost) OR ALARM(\"phantom\")"}))).await;
    assert_eq!(put.status(), "FAILED");
    assert_eq!(
        put.reason(),
        "Custom::CompositeAlarm: AlarmRule (or ActionsSuppressor) names alarms that do not exist: ghost, phantom"
    );
    let put = fx.send(fx.events.create("Custom::Dashboard", "Bad", json!({"Environment": "dev", "DashboardName": "d", "DashboardBody": {"start": "-PT3H"}}))).await;
    assert!(
        put.reason()
            .starts_with("Custom::Dashboard: DashboardBody must have a widgets list"),
        "{}",
        put.reason()
    );
    let put = fx
        .send(fx.events.create(
            "Custom::AlertTopic",
            "Bad",
            json!({"Environment": "qa", "TopicName": "alerts"}),
        ))
        .await;
    assert!(
        put.reason()
            .starts_with("Custom::AlertTopic: KmsKeyArn is required when Environment is qa"),
        "{}",
        put.reason()
    );
    assert!(alarm_names(&fx).await.is_empty());
    assert!(
        cw(&fx)
            .list_dashboards()
            .send()
            .await
            .expect("dashboards")
            .dashboard_entries()
            .is_empty()
    );
}

#[tokio::test]
async fn a_composite_alarm_with_a_suppressor_lives_and_goes() {
    let fx = Fixture::new().await;
    for name in ["cpu", "errors", "maintenance"] {
        let put = fx
            .send(
                fx.events
                    .create("Custom::MetricAlarm", name, cpu_alarm(name, 80)),
            )
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    let v1 = json!({"Environment": "prod", "AlarmName": "health", "AlarmRule": "ALARM(cpu) OR ALARM(errors)", "Severity": "critical",
        "ActionsSuppressor": "maintenance", "ActionsSuppressorWaitPeriod": "120", "ActionsSuppressorExtensionPeriod": 180});
    let put = fx
        .send(
            fx.events
                .create("Custom::CompositeAlarm", "Health", v1.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cw(&fx)
        .describe_alarms()
        .alarm_names("health")
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .expect("describe");
    let composite = &live.composite_alarms()[0];
    assert_eq!(composite.alarm_rule(), Some("ALARM(cpu) OR ALARM(errors)"));
    assert_eq!(composite.actions_suppressor(), Some("maintenance"));
    assert_eq!(
        alarm_tags(&fx, put.data("Arn"))
            .await
            .get("severity")
            .map(String::as_str),
        Some("critical")
    );
    let mut v2 = v1.clone();
    v2["AlarmRule"] = json!("ALARM(cpu)");
    let put = fx
        .send(
            fx.events
                .update("Custom::CompositeAlarm", "Health", "health", v1, v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cw(&fx)
        .describe_alarms()
        .alarm_names("health")
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .expect("describe");
    assert_eq!(live.composite_alarms()[0].alarm_rule(), Some("ALARM(cpu)"));
    let put = fx
        .send(
            fx.events
                .delete("Custom::CompositeAlarm", "Health", "health", v2),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(!alarm_names(&fx).await.contains("health"));
}

#[tokio::test]
async fn a_dashboard_is_put_updated_and_deleted_and_a_different_one_is_never_overwritten() {
    let fx = Fixture::new().await;
    let body = json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "orders"}}]});
    let v1 =
        json!({"Environment": "dev", "DashboardName": "orders", "DashboardBody": body.to_string()});
    let (event, request_id) = fx.events.create("Custom::Dashboard", "Board", v1.clone());
    let put = fx.send((event.clone(), request_id.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(
        put.data("DashboardArn").ends_with(":dashboard/orders"),
        "{}",
        put.data("DashboardArn")
    );
    let again = fx.send((event, request_id)).await;
    assert_eq!(
        again.status(),
        "SUCCESS",
        "a duplicate delivery finds its own dashboard: {}",
        again.reason()
    );
    let other = json!({"Environment": "dev", "DashboardName": "orders", "DashboardBody": {"widgets": [{"type": "text", "properties": {"markdown": "someone else"}}]}});
    let put = fx
        .send(fx.events.create("Custom::Dashboard", "Other", other))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason().contains("DashboardName orders already exists"),
        "{}",
        put.reason()
    );

    let v2 = json!({"Environment": "dev", "DashboardName": "orders", "DashboardBody": {"widgets": [{"type": "text", "properties": {"markdown": "v2"}}]}});
    let put = fx
        .send(
            fx.events
                .update("Custom::Dashboard", "Board", "orders", v1, v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cw(&fx)
        .get_dashboard()
        .dashboard_name("orders")
        .send()
        .await
        .expect("get");
    assert!(live.dashboard_body().unwrap_or_default().contains("v2"));
    for _ in 0..2 {
        let put = fx
            .send(
                fx.events
                    .delete("Custom::Dashboard", "Board", "orders", v2.clone()),
            )
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    assert!(
        cw(&fx)
            .list_dashboards()
            .send()
            .await
            .expect("list")
            .dashboard_entries()
            .is_empty()
    );
}

#[tokio::test]
async fn a_metric_filter_and_a_query_definition_live_and_go() {
    let fx = Fixture::new().await;
    fx.logs
        .create_log_group()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("group");
    let v1 = json!({"Environment": "dev", "LogGroupName": "/orders/api", "FilterName": "errors", "FilterPattern": "ERROR",
        "MetricNamespace": "Orders", "MetricName": "Errors", "DefaultValue": "0", "Unit": "Count"});
    let put = fx
        .send(
            fx.events
                .create("Custom::MetricFilter", "Errors", v1.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "/orders/api|errors");
    let mut v2 = v1.clone();
    v2["FilterPattern"] = json!("?ERROR ?FATAL");
    let put = fx
        .send(fx.events.update(
            "Custom::MetricFilter",
            "Errors",
            "/orders/api|errors",
            v1,
            v2.clone(),
        ))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let filters = fx
        .logs
        .describe_metric_filters()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("filters");
    assert_eq!(
        filters.metric_filters()[0].filter_pattern(),
        Some("?ERROR ?FATAL")
    );
    let put = fx
        .send(
            fx.events
                .delete("Custom::MetricFilter", "Errors", "/orders/api|errors", v2),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(
        fx.logs
            .describe_metric_filters()
            .log_group_name("/orders/api")
            .send()
            .await
            .expect("filters")
            .metric_filters()
            .is_empty()
    );

    let q1 = json!({"Environment": "dev", "Name": "orders/errors", "QueryString": "fields @timestamp, @message | filter @message like /ERROR/", "LogGroupNames": ["/orders/api"]});
    let (event, request_id) = fx
        .events
        .create("Custom::QueryDefinition", "Query", q1.clone());
    let put = fx.send((event.clone(), request_id.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let id = put.physical_id().to_owned();
    assert_eq!(
        fx.send((event, request_id)).await.physical_id(),
        id,
        "a duplicate Create finds the same definition"
    );
    let mut q2 = q1.clone();
    q2["QueryString"] = json!("stats count() by bin(5m)");
    let put = fx
        .send(
            fx.events
                .update("Custom::QueryDefinition", "Query", &id, q1, q2.clone()),
        )
        .await;
    assert_eq!(put.physical_id(), id, "updated in place");
    let defs = fx
        .logs
        .describe_query_definitions()
        .send()
        .await
        .expect("defs");
    assert_eq!(defs.query_definitions().len(), 1);
    assert_eq!(
        defs.query_definitions()[0].query_string(),
        Some("stats count() by bin(5m)")
    );
    for _ in 0..2 {
        let put = fx
            .send(
                fx.events
                    .delete("Custom::QueryDefinition", "Query", &id, q2.clone()),
            )
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    assert!(
        fx.logs
            .describe_query_definitions()
            .send()
            .await
            .expect("defs")
            .query_definitions()
            .is_empty()
    );
}

#[tokio::test]
async fn an_alert_topic_is_encrypted_where_required_and_its_subscriptions_follow_updates() {
    let fx = Fixture::new().await;
    let sqs = aws_sdk_sqs::Client::new(&fx.account.config);
    let sns = aws_sdk_sns::Client::new(&fx.account.config);
    for q in ["one", "two"] {
        sqs.create_queue()
            .queue_name(q)
            .send()
            .await
            .expect("queue");
    }
    let queue = |q: &str| format!("arn:aws:sqs:us-east-1:{}:{q}", fx.account.id);
    let key = common::key_arn(&fx.account);
    let v1 = json!({"Environment": "prod", "TopicName": "orders-critical", "Severity": "critical", "KmsKeyArn": key,
        "Subscriptions": [{"Protocol": "sqs", "Endpoint": queue("one")}], "Tags": [{"Key": "team", "Value": "orders"}]});
    let put = fx
        .send(fx.events.create("Custom::AlertTopic", "Topic", v1.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let arn = put.physical_id().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:sns:us-east-1:{}:orders-critical", fx.account.id)
    );
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .expect("attributes");
    assert_eq!(
        attributes
            .attributes()
            .and_then(|a| a.get("KmsMasterKeyId"))
            .map(String::as_str),
        Some(key.as_str())
    );
    let mut v2 = v1.clone();
    v2["Subscriptions"] = json!([{"Protocol": "sqs", "Endpoint": queue("two")}]);
    let put = fx
        .send(
            fx.events
                .update("Custom::AlertTopic", "Topic", &arn, v1, v2.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .send()
        .await
        .expect("subs");
    let endpoints: Vec<&str> = subs
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint())
        .collect();
    assert_eq!(endpoints, [queue("two").as_str()]);
    let put = fx
        .send(fx.events.create("Custom::AlertTopic", "Again", v2.clone()))
        .await;
    assert_eq!(
        put.status(),
        "FAILED",
        "a topic this request did not make is never taken over"
    );
    for _ in 0..2 {
        let put = fx
            .send(
                fx.events
                    .delete("Custom::AlertTopic", "Topic", &arn, v2.clone()),
            )
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    assert!(
        sns.list_topics()
            .send()
            .await
            .expect("topics")
            .topics()
            .is_empty()
    );
}

#[tokio::test]
async fn the_baseline_is_sized_for_each_environment_moves_between_them_and_deletes_only_its_own() {
    let fx = Fixture::new().await;
    fx.logs
        .create_log_group()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("group");
    // Someone else's alarm under the same prefix stays.
    let put = fx
        .send(fx.events.create(
            "Custom::MetricAlarm",
            "Mine",
            cpu_alarm("orders-handmade", 50),
        ))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let props = |env: &str| json!({"Environment": env, "Prefix": "orders", "ClusterName": "orders", "ServiceNames": ["api"], "LogGroupName": "/orders/api"});

    let put = fx
        .send(
            fx.events
                .create("Custom::AlarmBaseline", "Baseline", props("dev")),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "baseline/orders");
    assert_eq!(put.data("AlarmCount"), "2");
    assert_eq!(put.data("DashboardNames"), "");
    let filters = fx
        .logs
        .describe_metric_filters()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("filters");
    assert_eq!(filters.metric_filters().len(), 1, "the error filter");

    let mut previous = props("dev");
    for (env, min, max, dashboards) in [
        ("qa", 1, 3, 0),
        ("uat", 5, 10, 1),
        ("prod", 20, 100, 2),
        ("dev", 1, 2, 0),
    ] {
        let put = fx
            .send(fx.events.update(
                "Custom::AlarmBaseline",
                "Baseline",
                "baseline/orders",
                previous.clone(),
                props(env),
            ))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{env}: {}", put.reason());
        let count: usize = put.data("AlarmCount").parse().expect("count");
        assert!((min..=max).contains(&count), "{env}: {count}");
        assert_eq!(put.data("AlarmNamePrefix"), "orders-");
        let mut live = alarm_names(&fx).await;
        assert!(live.remove("orders-handmade"), "never touched");
        if env == "prod" {
            assert_eq!(put.data("CompositeAlarmName"), "orders-service-health");
            assert!(live.remove("orders-service-health"));
            let bands = cw(&fx)
                .describe_anomaly_detectors()
                .send()
                .await
                .expect("detectors")
                .anomaly_detectors()
                .len();
            assert!(bands >= 4, "{bands}");
        }
        // Exactly the baseline's alarms: as many as it counts, every one under its prefix.
        assert_eq!(live.len(), count, "{env}: {live:?}");
        assert!(
            live.iter().all(|n| n.starts_with("orders-")),
            "{env}: {live:?}"
        );
        let boards = cw(&fx)
            .list_dashboards()
            .send()
            .await
            .expect("dashboards")
            .dashboard_entries()
            .len();
        assert_eq!(boards, dashboards, "{env}");
        assert_eq!(
            put.data("EstimatedMonthlyCostUsd"),
            billed_live(&fx, "orders-", "orders-handmade").await,
            "{env}: the estimate is what CloudWatch bills for what the baseline made"
        );
        previous = props(env);
    }
    for _ in 0..2 {
        let put = fx
            .send(fx.events.delete(
                "Custom::AlarmBaseline",
                "Baseline",
                "baseline/orders",
                previous.clone(),
            ))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    }
    assert_eq!(
        alarm_names(&fx).await,
        ["orders-handmade".to_owned()].into()
    );
    assert!(
        fx.logs
            .describe_metric_filters()
            .log_group_name("/orders/api")
            .send()
            .await
            .expect("filters")
            .metric_filters()
            .is_empty()
    );
    assert!(
        cw(&fx)
            .describe_anomaly_detectors()
            .send()
            .await
            .expect("detectors")
            .anomaly_detectors()
            .is_empty()
    );
}

#[tokio::test]
async fn the_sample_events_drive_every_type_through_its_lifecycle() {
    let fx = Fixture::new().await;
    fx.logs
        .create_log_group()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("group");
    let replay = |files: &'static [&'static str]| fx.replay_samples("monitoring-provider", files);
    replay(&[
        "metric-alarm-create.json",
        "metric-alarm-update.json",
        "metric-alarm-replace-anomaly.json",
        "metric-alarm-delete-replaced.json",
    ])
    .await;
    replay(&["composite-alarm-create.json", "composite-alarm-delete.json"]).await;
    replay(&["metric-alarm-delete.json"]).await;
    replay(&[
        "dashboard-create.json",
        "dashboard-update.json",
        "dashboard-delete.json",
    ])
    .await;
    replay(&["metric-filter-create.json", "metric-filter-delete.json"]).await;
    replay(&[
        "query-definition-create.json",
        "query-definition-update.json",
        "query-definition-delete.json",
    ])
    .await;
    replay(&["alert-topic-create.json", "alert-topic-delete.json"]).await;
    let ids = replay(&[
        "baseline-create.json",
        "baseline-update-prod.json",
        "baseline-delete.json",
    ])
    .await;
    assert_eq!(ids, ["baseline/orders"]);
    assert!(
        alarm_names(&fx).await.is_empty(),
        "everything the samples made is gone"
    );
    assert!(
        cw(&fx)
            .list_dashboards()
            .send()
            .await
            .expect("list")
            .dashboard_entries()
            .is_empty()
    );
}

/// The plan reads CloudWatch's answer the way the properties mean it: an alarm just made from
/// them (single metric with dimensions, anomaly band, metric math, a composite with a
/// suppressor) plans no change, so an Update
/// with the same properties makes no call and drift detection reports nothing.
#[tokio::test]
async fn alarms_just_made_are_in_step_with_their_properties() {
    use monitoring_provider::composite::CompositeAlarms;
    use monitoring_provider::cw::Alarms;
    use monitoring_provider::metric_alarm::{MetricAlarms, plan};
    use shared::cfn::{NamedResource, decode_properties};
    let fx = Fixture::new().await;
    let shapes = [
        cpu_alarm("shape-single", 80),
        json!({"Environment": "dev", "AlarmName": "shape-band", "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "ServiceName", "Value": "api"}, {"Name": "ClusterName", "Value": "orders"}],
            "Statistic": "Average", "Period": 300, "EvaluationPeriods": 3, "AnomalyBandWidth": 2}),
        json!({"Environment": "dev", "AlarmName": "shape-math", "EvaluationPeriods": 2, "Threshold": 5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:b", "arn:aws:sns:us-east-1:123456789012:a"],
            "Metrics": [
                {"Id": "errors", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}, "ReturnData": false},
                {"Id": "rate", "Expression": "errors * 100", "Label": "error rate", "ReturnData": true}]}),
    ];
    let alarms = MetricAlarms {
        alarms: Alarms::new(
            aws_sdk_cloudwatch::Client::new(&fx.account.config),
            "Custom::MetricAlarm",
            std::sync::Arc::new(monitoring_provider::cw::alarm_pacer(3.0)),
        ),
    };
    for props in shapes {
        let name = props["AlarmName"].as_str().expect("name").to_owned();
        let put = fx
            .send(
                fx.events
                    .create("Custom::MetricAlarm", "Shape", props.clone()),
            )
            .await;
        assert_eq!(put.status(), "SUCCESS", "{name}: {}", put.reason());
        let desired = decode_properties::<shared::cfn::Named<MetricAlarms>>(&props).expect("valid");
        let live = alarms
            .describe(&name)
            .await
            .expect("describe")
            .expect("made");
        let plan = plan(&live, &desired.spec);
        assert!(plan.is_empty(), "{name}: {:?}", plan.changes);
    }
    let composite = json!({"Environment": "dev", "AlarmName": "shape-composite",
        "AlarmRule": "ALARM(\"shape-single\") OR ALARM(shape-math)", "AlarmDescription": "either",
        "ActionsSuppressor": "shape-band", "ActionsSuppressorWaitPeriod": 120, "ActionsSuppressorExtensionPeriod": 60,
        "OkActions": ["arn:aws:sns:us-east-1:123456789012:b", "arn:aws:sns:us-east-1:123456789012:a"]});
    let put = fx
        .send(
            fx.events
                .create("Custom::CompositeAlarm", "Either", composite.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let desired =
        decode_properties::<shared::cfn::Named<CompositeAlarms>>(&composite).expect("valid");
    let live = alarms
        .describe("shape-composite")
        .await
        .expect("describe")
        .expect("made");
    let plan = monitoring_provider::composite::plan(&live, &desired);
    assert!(plan.is_empty(), "composite: {:?}", plan.changes);
}
