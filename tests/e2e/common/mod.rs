//! What every end-to-end test file shares: one account per test, a listener, and the provider
//! built the way `main.rs` builds it.
#![allow(dead_code)]

pub mod kms;

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::AlarmType;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use e2e::{Account, CfnEvents, RecordedPut, ResponseListener, emulator, invoke_in_process};
use monitoring_provider::MonitoringProvider;
use serde_json::Value;
use shared::cfn::Provider;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const LOG_GROUP: &str = "Custom::LogGroup";

pub struct Fixture<P = MonitoringProvider> {
    pub account: Account,
    pub provider: Result<P, String>,
    pub events: CfnEvents,
    pub listener: ResponseListener,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Fixture<MonitoringProvider> {
    pub async fn new() -> Self {
        Fixture::with(MonitoringProvider::new).await
    }
}

impl<P: Provider> Fixture<P> {
    /// A fresh account, a listener, and `build`'s provider, built as `main.rs` builds it.
    pub async fn with(build: impl FnOnce(&SdkConfig) -> P) -> Self {
        let account = emulator().new_account().await;
        let listener = ResponseListener::start().await;
        Fixture {
            provider: Ok(build(&account.config)),
            events: CfnEvents::new(account.stack_id("demo"), listener.clone()),
            logs: aws_sdk_cloudwatchlogs::Client::new(&account.config),
            account,
            listener,
        }
    }

    /// Sends `event` through the handler and returns the response CloudFormation received.
    pub async fn send(&self, (event, request_id): (Value, String)) -> RecordedPut {
        let _ = invoke_in_process(&self.provider, event, TIMEOUT).await;
        self.listener.response(&request_id, TIMEOUT).await
    }

    pub async fn group(&self, name: &str) -> Option<LogGroup> {
        self.logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .expect("describe")
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .cloned()
    }

    pub async fn group_count(&self) -> usize {
        self.logs
            .describe_log_groups()
            .send()
            .await
            .expect("describe")
            .log_groups()
            .len()
    }

    pub async fn tags(&self, name: &str) -> HashMap<String, String> {
        let group = self.group(name).await.expect("group exists");
        self.logs
            .list_tags_for_resource()
            .resource_arn(group.log_group_arn().expect("arn"))
            .send()
            .await
            .expect("tags")
            .tags()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn key_arn(account: &Account) -> String {
    format!(
        "arn:aws:kms:us-east-1:{}:key/0e0f5c1e-aaaa-bbbb-cccc-000000000001",
        account.id
    )
}

impl<P: Provider> Fixture<P> {
    /// Replays sample events from `events/<function>/` in order, answered on this fixture's
    /// listener; each must succeed. AWS picks some physical ids (a KeyId), so the samples'
    /// ids are placeholders: the n-th distinct id the samples name stands for the n-th
    /// distinct id the responses returned. Returns those real ids.
    pub async fn replay_samples(&self, function: &str, files: &[&str]) -> Vec<String> {
        let dir = e2e::emulator::workspace_root()
            .join("events")
            .join(function);
        let mut sample_ids: Vec<String> = Vec::new();
        let mut real_ids: Vec<String> = Vec::new();
        for name in files {
            let text = std::fs::read_to_string(dir.join(name)).expect("sample event");
            let mut event: Value = serde_json::from_str(&text).expect("JSON");
            let request_id = event["RequestId"].as_str().expect("RequestId").to_owned();
            event["ResponseURL"] = Value::String(self.listener.url(&request_id));
            event["StackId"] = Value::String(self.events.stack_id.clone());
            if let Some(sample_id) = event["PhysicalResourceId"].as_str().map(str::to_owned) {
                let index = sample_ids
                    .iter()
                    .position(|s| *s == sample_id)
                    .unwrap_or_else(|| {
                        sample_ids.push(sample_id.clone());
                        sample_ids.len() - 1
                    });
                let real = real_ids.get(index).cloned().unwrap_or(sample_id);
                event["PhysicalResourceId"] = Value::String(real);
            }
            let put = self.send((event, request_id)).await;
            assert_eq!(put.status(), "SUCCESS", "{name}: {}", put.reason());
            if !real_ids.iter().any(|r| r == put.physical_id()) {
                real_ids.push(put.physical_id().to_owned());
            }
        }
        real_ids
    }
}

/// A new SNS topic in `account`; its ARN.
pub async fn topic(account: &Account, name: &str) -> String {
    aws_sdk_sns::Client::new(&account.config)
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn")
}

/// A CPU alarm made by hand (not through a stack), under `name`.
pub async fn hand_made_alarm(account: &Account, name: &str) {
    aws_sdk_cloudwatch::Client::new(&account.observer())
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(90.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("hand-made alarm");
}

/// Every metric and composite alarm name in `account`.
pub async fn alarm_names(account: &Account) -> BTreeSet<String> {
    let out = aws_sdk_cloudwatch::Client::new(&account.observer())
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .max_records(100)
        .send()
        .await
        .expect("describe alarms");
    out.metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .chain(out.composite_alarms().iter().filter_map(|a| a.alarm_name()))
        .map(str::to_owned)
        .collect()
}

/// The drift records table as template.yaml makes it, in `account`.
pub async fn records_table(account: &Account) -> shared::records::Records {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    const TABLE: &str = "stackhand-drift-records";
    aws_sdk_dynamodb::Client::new(&account.config)
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(shared::records::KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(shared::records::KEY)
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("records table");
    shared::records::Records::new(shared::records::Client::new(&account.config), TABLE)
}

/// An SQS queue `name` subscribed to `topic`: what a person would read; its URL.
pub async fn inbox(account: &Account, topic: &str, name: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let queue = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    aws_sdk_sns::Client::new(&account.config)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:us-east-1:{}:{name}", account.id))
        .send()
        .await
        .expect("subscribe");
    queue
}

/// The SNS envelopes waiting in `queue` (up to 10).
pub async fn received(account: &Account, queue: &str) -> Vec<Value> {
    aws_sdk_sqs::Client::new(&account.config)
        .receive_message()
        .queue_url(queue)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive")
        .messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().expect("body")).expect("SNS envelope"))
        .collect()
}

/// key-auditor's run ledger as template.yaml's AuditRunsTable makes it, in `account`; its name.
pub async fn audit_runs_table(account: &Account) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    const TABLE: &str = "stackhand-audit-runs";
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    aws_sdk_dynamodb::Client::new(&account.config)
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("run"))
        .attribute_definitions(attribute("unit"))
        .key_schema(key("run", KeyType::Hash))
        .key_schema(key("unit", KeyType::Range))
        .send()
        .await
        .expect("audit runs table");
    TABLE.to_owned()
}
