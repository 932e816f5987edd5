//! Drift end to end: the providers record what they applied, someone changes the resources by
//! hand, and `drift-detector` names each change (stack, logical id, type, property, desired and
//! live value), while edits AWS normalizes are never drift.
//!
//! Longer than 400 lines on purpose: one file is one test binary sharing one emulator; each
//! test is one account and one story of drift.

mod common;

use drift_detector::report::ResourceDrift;
use drift_detector::{DriftDetector, DriftSettings, Report};
use e2e::{Account, CfnEvents, ResponseListener, emulator, invoke_in_process};
use ecs_provider::EcsProvider;
use kms_provider::KmsProvider;
use monitoring_provider::MonitoringProvider;
use serde_json::{Value, json};
use shared::cfn::Provider;
use shared::records::Records;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

/// One account with the records table, the three providers recording into it, and the detector.
struct Platform {
    account: Account,
    listener: ResponseListener,
    events: CfnEvents,
    kms: Result<KmsProvider, String>,
    monitoring: Result<MonitoringProvider, String>,
    ecs: Result<EcsProvider, String>,
    detector: DriftDetector,
    records: Records,
}

impl Platform {
    async fn new() -> Platform {
        let account = emulator().new_account().await;
        let config = &account.config;
        let records = common::records_table(&account).await;
        let listener = ResponseListener::start().await;
        let settings = DriftSettings {
            records_table: records.table().to_owned(),
            report_topic_arn: None,
            namespace: "Stackhand/Drift".to_owned(),
            concurrency: 4,
            repair: None,
        };
        Platform {
            events: CfnEvents::new(account.stack_id("platform"), listener.clone()),
            kms: Ok(KmsProvider::new(config).with_records(Some(records.clone()))),
            monitoring: Ok(MonitoringProvider::new(config).with_records(Some(records.clone()))),
            ecs: Ok(EcsProvider::new(config).with_records(Some(records.clone()))),
            detector: DriftDetector::new(config, settings),
            records,
            listener,
            account,
        }
    }

    /// Sends the event to the provider that serves its type; the physical id answered.
    async fn send(&self, (event, request_id): (Value, String)) -> String {
        let resource_type = event["ResourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if KmsProvider::RESOURCE_TYPES.contains(&resource_type.as_str()) {
            let _ = invoke_in_process(&self.kms, event, TIMEOUT).await;
        } else if EcsProvider::RESOURCE_TYPES.contains(&resource_type.as_str()) {
            let _ = invoke_in_process(&self.ecs, event, TIMEOUT).await;
        } else {
            let _ = invoke_in_process(&self.monitoring, event, TIMEOUT).await;
        }
        let put = self.listener.response(&request_id, TIMEOUT).await;
        assert_eq!(put.status(), "SUCCESS", "{resource_type}: {}", put.reason());
        put.physical_id().to_owned()
    }

    async fn create(&self, resource_type: &str, logical_id: &str, props: Value) -> String {
        self.send(self.events.create(resource_type, logical_id, props))
            .await
    }

    async fn detect(&self) -> Report {
        self.detector.detect().await.expect("detect")
    }

    fn role(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account.id)
    }
}

/// A key made by hand, for a property that names one; its ARN.
async fn plain_key_arn(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .send()
        .await
        .expect("key")
        .key_metadata
        .expect("metadata")
        .arn
        .expect("arn")
}

/// The drift of `logical_id`, which must be there.
fn drift_of<'a>(report: &'a Report, logical_id: &str) -> &'a ResourceDrift {
    report
        .drifted
        .iter()
        .find(|d| d.logical_id == logical_id)
        .unwrap_or_else(|| panic!("no drift for {logical_id}: {report:#?}"))
}

/// `property`: (desired, live) of a drifted resource.
fn difference(drift: &ResourceDrift, property: &str) -> (String, String) {
    drift
        .differences
        .iter()
        .find(|d| d.property == property)
        .map(|d| (d.desired.clone(), d.live.clone()))
        .unwrap_or_else(|| panic!("{property} is not among {:#?}", drift.differences))
}

fn properties(drift: &ResourceDrift) -> Vec<&str> {
    drift
        .differences
        .iter()
        .map(|d| d.property.as_str())
        .collect()
}

#[tokio::test]
async fn a_key_with_rotation_turned_off_its_policy_edited_and_an_alias_moved_has_drifted() {
    let platform = Platform::new().await;
    let props = json!({"Environment": "dev", "Description": "orders data", "Aliases": ["orders"],
        "KeyAdministrators": [platform.role("admin")], "KeyUsers": [platform.role("app")]});
    let key_id = platform.create("Custom::KmsKey", "OrdersKey", props).await;
    let report = platform.detect().await;
    assert_eq!(
        (report.resources_checked, report.in_sync),
        (1, 1),
        "{report:#?}"
    );

    let kms = aws_sdk_kms::Client::new(&platform.account.config);
    // Reformatting the policy (order, whitespace) is not drift; changing it is.
    let policy = kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
        .expect("policy")
        .policy
        .expect("text");
    let parsed: Value = serde_json::from_str(&policy).expect("JSON");
    let mut statements = parsed["Statement"].as_array().expect("statements").clone();
    statements.reverse();
    let mut reordered = parsed.clone();
    reordered["Statement"] = Value::Array(statements);
    kms.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(serde_json::to_string_pretty(&reordered).expect("text"))
        .send()
        .await
        .expect("reformat the policy");
    let report = platform.detect().await;
    assert!(
        report.drifted.is_empty(),
        "a reordered, re-indented policy is the same policy: {report:#?}"
    );

    kms.disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .expect("rotation off");
    let mut edited = parsed.clone();
    edited["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(json!({"Sid": "Stranger", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:Decrypt", "Resource": "*"}));
    kms.put_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .policy(edited.to_string())
        .send()
        .await
        .expect("edit the policy");
    let other = kms.create_key().send().await.expect("another key");
    let other_id = other.key_metadata.expect("metadata").key_id;
    kms.update_alias()
        .alias_name("alias/orders")
        .target_key_id(&other_id)
        .send()
        .await
        .expect("move the alias");

    let report = platform.detect().await;
    let drift = drift_of(&report, "OrdersKey");
    assert_eq!(drift.status, "MODIFIED");
    assert_eq!(drift.resource_type, "Custom::KmsKey");
    assert_eq!(drift.stack, "platform");
    assert_eq!(drift.physical_id, key_id);
    let named = properties(drift);
    // The profile asks for rotation at a period, so rotation off reads as no period.
    for property in ["RotationPeriodInDays", "KeyPolicy", "Aliases"] {
        assert!(named.contains(&property), "{property} not in {named:?}");
    }
    assert_eq!(difference(drift, "RotationPeriodInDays").1, "(none)");
    assert!(difference(drift, "KeyPolicy").1.contains("Stranger"));
    assert_eq!(report.by_type["Custom::KmsKey"].drifted, 1);
}

#[tokio::test]
async fn a_log_group_shortened_or_decrypted_has_drifted_and_one_deleted_is_reported_deleted() {
    let platform = Platform::new().await;
    let kms = aws_sdk_kms::Client::new(&platform.account.config);
    let key_arn = plain_key_arn(&kms).await;
    platform
        .create(
            "Custom::LogGroup",
            "AppLogs",
            json!({"Environment": "prod", "LogGroupName": "/orders/app", "KmsKeyArn": key_arn}),
        )
        .await;
    platform
        .create(
            "Custom::LogGroup",
            "AuditLogs",
            json!({"Environment": "dev", "LogGroupName": "/orders/audit", "Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}]}),
        )
        .await;
    platform
        .create(
            "Custom::LogGroup",
            "TmpLogs",
            json!({"Environment": "dev", "LogGroupName": "/orders/tmp"}),
        )
        .await;
    let report = platform.detect().await;
    assert_eq!(
        (report.resources_checked, report.drifted.len()),
        (3, 0),
        "{report:#?}"
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(&platform.account.config);
    logs.put_retention_policy()
        .log_group_name("/orders/app")
        .retention_in_days(1)
        .send()
        .await
        .expect("shorten");
    logs.disassociate_kms_key()
        .log_group_name("/orders/app")
        .send()
        .await
        .expect("decrypt");
    logs.delete_log_group()
        .log_group_name("/orders/tmp")
        .send()
        .await
        .expect("delete");

    let report = platform.detect().await;
    assert_eq!(report.drifted.len(), 2, "{report:#?}");
    let app = drift_of(&report, "AppLogs");
    let prod_retention = shared::Environment::Prod.profile().log_retention_days;
    assert_eq!(
        difference(app, "RetentionInDays"),
        (prod_retention.to_string(), "1".to_owned())
    );
    assert_eq!(difference(app, "KmsKeyArn").0, key_arn);
    let tmp = drift_of(&report, "TmpLogs");
    assert_eq!(tmp.status, "DELETED");
    assert_eq!(
        report.by_type["Custom::LogGroup"].drifted, 2,
        "AuditLogs, tags in another order, is in sync"
    );
}

#[tokio::test]
async fn alarms_dashboards_clusters_and_topics_changed_by_hand_have_drifted() {
    let platform = Platform::new().await;
    let config = &platform.account.config;
    let sns = aws_sdk_sns::Client::new(config);
    let pager = common::topic(&platform.account, "pager").await;
    let kms = aws_sdk_kms::Client::new(config);
    let topic_key = plain_key_arn(&kms).await;
    platform
        .create(
            "Custom::MetricAlarm",
            "CpuAlarm",
            json!({"Environment": "dev", "AlarmName": "orders-cpu", "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
                "Dimensions": {"ClusterName": "orders"}, "Statistic": "Average", "Period": "300", "EvaluationPeriods": 3,
                "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [pager.clone()],
                "Severity": "critical"}),
        )
        .await;
    let body = json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "orders"}}]});
    platform
        .create(
            "Custom::Dashboard",
            "OrdersDashboard",
            json!({"Environment": "dev", "DashboardName": "orders", "DashboardBody": body.to_string()}),
        )
        .await;
    platform
        .create(
            "Custom::EcsCluster",
            "Cluster",
            json!({"Environment": "prod", "ClusterName": "orders"}),
        )
        .await;
    let topic_arn = platform
        .create(
            "Custom::AlertTopic",
            "Alerts",
            json!({"Environment": "dev", "TopicName": "orders-alerts", "KmsKeyArn": topic_key}),
        )
        .await;
    let report = platform.detect().await;
    assert_eq!(
        (report.resources_checked, report.drifted.len()),
        (4, 0),
        "{report:#?}"
    );

    // The same dashboard body, keys reordered and re-indented, is not drift.
    let cw = aws_sdk_cloudwatch::Client::new(config);
    let reordered = "{\n  \"widgets\": [ { \"properties\": {\"markdown\": \"orders\"}, \"height\": 3, \"width\": 6, \"y\": 0, \"x\": 0, \"type\": \"text\" } ]\n}";
    cw.put_dashboard()
        .dashboard_name("orders")
        .dashboard_body(reordered)
        .send()
        .await
        .expect("reformat");
    assert!(platform.detect().await.drifted.is_empty());

    cw.put_metric_alarm()
        .alarm_name("orders-cpu")
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("ClusterName")
                .value("orders")
                .build(),
        )
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(300)
        .evaluation_periods(3)
        .threshold(95.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("raise the threshold, drop the actions");
    cw.put_dashboard()
        .dashboard_name("orders")
        .dashboard_body(json!({"widgets": []}).to_string())
        .send()
        .await
        .expect("empty the dashboard");
    aws_sdk_ecs::Client::new(config)
        .update_cluster_settings()
        .cluster("orders")
        .settings(
            aws_sdk_ecs::types::ClusterSetting::builder()
                .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                .value("disabled")
                .build(),
        )
        .send()
        .await
        .expect("insights off");
    sns.set_topic_attributes()
        .topic_arn(&topic_arn)
        .attribute_name("KmsMasterKeyId")
        .attribute_value("")
        .send()
        .await
        .expect("encryption off");

    let report = platform.detect().await;
    assert_eq!(report.drifted.len(), 4, "{report:#?}");
    let alarm = drift_of(&report, "CpuAlarm");
    assert_eq!(
        difference(alarm, "Threshold"),
        ("80".to_owned(), "95".to_owned())
    );
    assert!(
        properties(alarm).contains(&"AlarmActions"),
        "{:?}",
        properties(alarm)
    );
    let dashboard = drift_of(&report, "OrdersDashboard");
    assert_eq!(properties(dashboard), ["DashboardBody"]);
    let cluster = drift_of(&report, "Cluster");
    assert!(
        properties(cluster)
            .iter()
            .any(|p| p.contains("ContainerInsights")),
        "{:?}",
        cluster.differences
    );
    let topic = drift_of(&report, "Alerts");
    assert_eq!(difference(topic, "KmsKeyArn").0, topic_key);
    for resource_type in [
        "Custom::MetricAlarm",
        "Custom::Dashboard",
        "Custom::EcsCluster",
        "Custom::AlertTopic",
    ] {
        assert_eq!(report.by_type[resource_type].drifted, 1, "{resource_type}");
    }
}

#[tokio::test]
async fn a_baseline_alarm_deleted_by_hand_is_drift_of_the_baseline() {
    let platform = Platform::new().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&platform.account.config);
    logs.create_log_group()
        .log_group_name("/orders/api")
        .send()
        .await
        .expect("group");
    platform
        .create(
            "Custom::AlarmBaseline",
            "Baseline",
            json!({"Environment": "dev", "Prefix": "orders", "ClusterName": "orders", "ServiceNames": ["api"], "LogGroupName": "/orders/api"}),
        )
        .await;
    assert!(platform.detect().await.drifted.is_empty());
    let names = common::alarm_names(&platform.account).await;
    let victim = names.iter().next().expect("a baseline alarm").clone();
    aws_sdk_cloudwatch::Client::new(&platform.account.observer())
        .delete_alarms()
        .alarm_names(&victim)
        .send()
        .await
        .expect("delete one alarm");

    let report = platform.detect().await;
    let drift = drift_of(&report, "Baseline");
    assert_eq!(drift.status, "MODIFIED");
    assert!(
        drift
            .differences
            .iter()
            .any(|d| d.desired.contains(&victim)),
        "{victim} missing is named: {:#?}",
        drift.differences
    );
}

#[tokio::test]
async fn records_follow_the_stack_through_replacement_and_delete() {
    let platform = Platform::new().await;
    let v1 = json!({"Environment": "dev", "LogGroupName": "/orders/v1"});
    platform
        .create("Custom::LogGroup", "Logs", v1.clone())
        .await;
    let stack_id = platform.events.stack_id.clone();
    let recorded = || async {
        let (records, unreadable) = platform.records.all().await.expect("scan");
        assert!(unreadable.is_empty(), "{unreadable:?}");
        records
    };
    let records = recorded().await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].physical_id, "/orders/v1");
    assert_eq!(records[0].properties, v1, "ServiceToken is not recorded");

    // A replacement records the new id; CloudFormation's Delete of the old one leaves it.
    let v2 = json!({"Environment": "dev", "LogGroupName": "/orders/v2"});
    let id = platform
        .send(platform.events.update(
            "Custom::LogGroup",
            "Logs",
            "/orders/v1",
            v1.clone(),
            v2.clone(),
        ))
        .await;
    assert_eq!(id, "/orders/v2");
    platform
        .send(
            platform
                .events
                .delete("Custom::LogGroup", "Logs", "/orders/v1", v1),
        )
        .await;
    let records = recorded().await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].physical_id, "/orders/v2");
    assert_eq!(records[0].stack_id, stack_id);
    assert!(platform.detect().await.drifted.is_empty());

    platform
        .send(
            platform
                .events
                .delete("Custom::LogGroup", "Logs", "/orders/v2", v2),
        )
        .await;
    assert!(recorded().await.is_empty(), "a Delete removes the record");
    let report = platform.detect().await;
    assert_eq!(report.resources_checked, 0);
}

#[tokio::test]
async fn a_scheduled_run_publishes_the_drift_and_puts_drifted_resources_by_type() {
    let platform = Platform::new().await;
    let config = &platform.account.config;
    platform
        .create(
            "Custom::LogGroup",
            "AppLogs",
            json!({"Environment": "dev", "LogGroupName": "/orders/app"}),
        )
        .await;
    platform
        .create(
            "Custom::EcsCluster",
            "Cluster",
            json!({"Environment": "dev", "ClusterName": "orders"}),
        )
        .await;
    aws_sdk_cloudwatchlogs::Client::new(config)
        .put_retention_policy()
        .log_group_name("/orders/app")
        .retention_in_days(1)
        .send()
        .await
        .expect("shorten");
    let topic = common::topic(&platform.account, "drift-report").await;
    let queue = common::inbox(&platform.account, &topic, "drift-inbox").await;
    let detector = DriftDetector::new(
        config,
        DriftSettings {
            records_table: platform.records.table().to_owned(),
            report_topic_arn: Some(topic),
            namespace: "Stackhand/Drift".to_owned(),
            concurrency: 2,
            repair: None,
        },
    );

    let event =
        json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"});
    let report = detector.handle(event).await.expect("run");
    assert_eq!(report["resourcesChecked"], 2, "{report}");
    assert_eq!(report["drifted"][0]["logicalId"], "AppLogs", "{report}");
    assert_eq!(
        report["drifted"][0]["differences"][0]["property"],
        "RetentionInDays"
    );

    let messages = common::received(&platform.account, &queue).await;
    assert_eq!(messages.len(), 1, "one summary per run");
    let body = &messages[0];
    assert_eq!(
        body["Subject"], "stackhand drift: 1 of 2 resources drifted",
        "{body}"
    );
    let text = body["Message"].as_str().expect("message");
    assert!(
        text.contains("[MODIFIED] platform AppLogs (Custom::LogGroup, /orders/app)")
            && text.contains("RetentionInDays: live 1 / stack 7"),
        "{text}"
    );

    let metrics = aws_sdk_cloudwatch::Client::new(config)
        .list_metrics()
        .namespace("Stackhand/Drift")
        .metric_name("DriftedResources")
        .send()
        .await
        .expect("metrics");
    let types: std::collections::BTreeSet<String> = metrics
        .metrics()
        .iter()
        .flat_map(|m| m.dimensions())
        .filter_map(|d| d.value().map(str::to_owned))
        .collect();
    assert_eq!(
        types,
        ["Custom::EcsCluster", "Custom::LogGroup"]
            .map(String::from)
            .into()
    );

    // A run with the option a key audit takes is refused by name.
    let refused = detector
        .handle(json!({"keyIds": ["k"]}))
        .await
        .expect_err("keyIds");
    assert_eq!(
        refused.to_string(),
        "drift-detector takes no keyIds: it checks every recorded resource"
    );
}

/// The repair event drift-detector sends a provider: the record's key, nothing else.
fn repair_event(platform: &Platform, logical_id: &str) -> Value {
    json!({"stackhandRepair": {"stackId": platform.events.stack_id, "logicalResourceId": logical_id}})
}

#[tokio::test]
async fn a_repair_puts_back_what_the_stack_applied_and_refuses_what_it_may_not() {
    let platform = Platform::new().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&platform.account.config);
    let kms = aws_sdk_kms::Client::new(&platform.account.config);
    let key_arn = plain_key_arn(&kms).await;
    for (logical_id, props) in [
        (
            "Shortened",
            json!({"Environment": "dev", "LogGroupName": "/repair/shortened"}),
        ),
        (
            "GoneDev",
            json!({"Environment": "dev", "LogGroupName": "/repair/gone-dev"}),
        ),
        (
            "GoneProd",
            json!({"Environment": "prod", "LogGroupName": "/repair/gone-prod", "KmsKeyArn": key_arn}),
        ),
    ] {
        platform.create("Custom::LogGroup", logical_id, props).await;
    }
    logs.put_retention_policy()
        .log_group_name("/repair/shortened")
        .retention_in_days(1)
        .send()
        .await
        .expect("shorten");
    for gone in ["/repair/gone-dev", "/repair/gone-prod"] {
        logs.delete_log_group()
            .log_group_name(gone)
            .send()
            .await
            .expect("delete");
    }
    let repair = |logical_id: &str| {
        invoke_in_process(
            &platform.monitoring,
            repair_event(&platform, logical_id),
            TIMEOUT,
        )
    };
    let retention = |name: &'static str| {
        let logs = logs.clone();
        async move {
            logs.describe_log_groups()
                .log_group_name_prefix(name)
                .send()
                .await
                .expect("describe")
                .log_groups()
                .first()
                .map(|g| g.retention_in_days())
        }
    };

    let answer = repair("Shortened").await.expect("repaired");
    assert_eq!(answer["repaired"], true, "{answer}");
    assert_eq!(answer["status"], "MODIFIED");
    assert_eq!(retention("/repair/shortened").await, Some(Some(7)));
    let again = repair("Shortened").await.expect("in sync");
    assert_eq!(
        (again["repaired"].as_bool(), again["status"].as_str()),
        (Some(false), Some("IN_SYNC"))
    );

    let answer = repair("GoneDev").await.expect("made again in dev");
    assert_eq!(answer["status"], "DELETED", "{answer}");
    assert_eq!(retention("/repair/gone-dev").await, Some(Some(7)));

    let refused = repair("GoneProd").await.expect_err("never in prod");
    assert!(
        refused
            .to_string()
            .contains("a repair never recreates a uat or prod resource"),
        "{refused}"
    );
    assert_eq!(retention("/repair/gone-prod").await, None);

    let unknown = repair("NeverMade").await.expect_err("no record");
    assert!(
        unknown
            .to_string()
            .contains("no drift record for NeverMade"),
        "{unknown}"
    );
    let key_id = platform
        .create(
            "Custom::KmsKey",
            "Key",
            json!({"Environment": "dev", "Aliases": ["repair"]}),
        )
        .await;
    let wrong = repair("Key").await.expect_err("not this provider's type");
    assert!(wrong.to_string().contains("not Custom::KmsKey"), "{wrong}");
    assert!(!key_id.is_empty());

    let report = platform.detect().await;
    let drifted: Vec<&str> = report
        .drifted
        .iter()
        .map(|d| d.logical_id.as_str())
        .collect();
    assert_eq!(drifted, ["GoneProd"], "only what a repair may not touch");
}
