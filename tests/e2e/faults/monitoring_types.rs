//! The monitoring types the other fault suites do not stage, each Create under every fault:
//! one response in time, and nothing of the type left once a FAILED Create is rolled back.

use crate::{FAULTS, provider_case_in};
use e2e::{Account, emulator};
use serde_json::{Value, json};

const BINARY: &str = "monitoring-provider";
const CHILD_ALARM: &str = "faults-child";
const LOG_GROUP: &str = "/faults/filtered";

async fn with_log_group(account: &Account) {
    aws_sdk_cloudwatchlogs::Client::new(&account.config)
        .create_log_group()
        .log_group_name(LOG_GROUP)
        .send()
        .await
        .expect("log group");
}

async fn with_child_alarm(account: &Account) {
    crate::common::hand_made_alarm(account, CHILD_ALARM).await;
}

/// How many resources of the staged type the account holds.
async fn made(resource_type: &str, account: &Account) -> usize {
    let cw = aws_sdk_cloudwatch::Client::new(&account.observer());
    let logs = aws_sdk_cloudwatchlogs::Client::new(&account.config);
    match resource_type {
        "Custom::MetricAlarm" | "Custom::CompositeAlarm" => crate::common::alarm_names(account)
            .await
            .into_iter()
            .filter(|name| name != CHILD_ALARM)
            .count(),
        "Custom::Dashboard" => cw
            .list_dashboards()
            .send()
            .await
            .expect("dashboards")
            .dashboard_entries()
            .len(),
        "Custom::MetricFilter" => logs
            .describe_metric_filters()
            .log_group_name(LOG_GROUP)
            .send()
            .await
            .expect("filters")
            .metric_filters()
            .len(),
        "Custom::QueryDefinition" => logs
            .describe_query_definitions()
            .send()
            .await
            .expect("query definitions")
            .query_definitions()
            .len(),
        other => panic!("not staged here: {other}"),
    }
}

async fn under_every_fault(resource_type: &str, props: Value, prepare: impl AsyncFn(&Account)) {
    for (name, fault, succeeds) in FAULTS {
        let account = emulator().new_account().await;
        prepare(&account).await;
        let (account, _) = provider_case_in(
            account,
            BINARY,
            resource_type,
            props.clone(),
            name,
            fault,
            succeeds,
        )
        .await;
        assert_eq!(
            made(resource_type, &account).await,
            usize::from(succeeds),
            "{resource_type} / {name}: left behind"
        );
    }
}

async fn nothing(_: &Account) {}

#[tokio::test]
async fn every_other_monitoring_type_create_under_every_fault() {
    let alarm = under_every_fault(
        "Custom::MetricAlarm",
        json!({"Environment": "dev", "AlarmName": "faults-alarm", "Namespace": "AWS/ECS",
            "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 60,
            "EvaluationPeriods": 1, "Threshold": 90, "ComparisonOperator": "GreaterThanThreshold"}),
        nothing,
    );
    let composite = under_every_fault(
        "Custom::CompositeAlarm",
        json!({"Environment": "dev", "AlarmName": "faults-composite",
            "AlarmRule": format!("ALARM(\"{CHILD_ALARM}\")")}),
        with_child_alarm,
    );
    let dashboard = under_every_fault(
        "Custom::Dashboard",
        json!({"Environment": "dev", "DashboardName": "faults-board", "DashboardBody": {"widgets": [
            {"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "faults"}}]}}),
        nothing,
    );
    let filter = under_every_fault(
        "Custom::MetricFilter",
        json!({"Environment": "dev", "LogGroupName": LOG_GROUP, "FilterName": "errors",
            "FilterPattern": "ERROR", "MetricNamespace": "Faults", "MetricName": "Errors"}),
        with_log_group,
    );
    let query = under_every_fault(
        "Custom::QueryDefinition",
        json!({"Environment": "dev", "Name": "faults/errors", "QueryString": "fields @message",
            "LogGroupNames": [LOG_GROUP]}),
        with_log_group,
    );
    tokio::join!(alarm, composite, dashboard, filter, query);
}
