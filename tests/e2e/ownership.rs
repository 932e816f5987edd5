//! A provider changes only what its own stack's logical resource made (docs/reliability.md,
//! "Ownership"): forged and mistaken Deletes, renamed and copied logical ids, two stacks with
//! one name, environments moved down, a replacement rolled back, a cancelled Create's sweep, and
//! resources made by the release before owner records.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use aws_sdk_kms::types::KeyState;
use common::kms::{KmsView, NewKey};
use common::{Fixture, LOG_GROUP, alarm_names};
use e2e::{CfnEvents, RecordedPut};
use kms_provider::KmsProvider;
use serde_json::{Value, json};
use std::time::Duration;

const BASELINE: &str = "Custom::AlarmBaseline";
const DASHBOARD: &str = "Custom::Dashboard";
const FILTER: &str = "Custom::MetricFilter";
const QUERY: &str = "Custom::QueryDefinition";
const ALARM: &str = "Custom::MetricAlarm";
const KEY: &str = "Custom::KmsKey";

fn cw<P>(fx: &Fixture<P>) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&fx.account.observer())
}

/// Events of another stack in the same account, answered on the same listener.
fn other_stack<P>(fx: &Fixture<P>, name: &str) -> CfnEvents {
    CfnEvents::new(fx.account.stack_id(name), fx.listener.clone())
}

fn ok(put: &RecordedPut) {
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
}

fn refused(put: &RecordedPut, names: &str) {
    assert_eq!(put.status(), "FAILED", "expected a refusal naming {names}");
    assert!(put.reason().contains(names), "{}", put.reason());
}

async fn make_group<P>(fx: &Fixture<P>, name: &str, tags: &[(&str, &str)]) {
    let mut create = fx.logs.create_log_group().log_group_name(name);
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    create.send().await.expect("CreateLogGroup");
}

fn board_body(text: &str) -> Value {
    json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": text}}]})
}

async fn put_board<P>(fx: &Fixture<P>, name: &str, text: &str) {
    cw(fx)
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(board_body(text).to_string())
        .send()
        .await
        .expect("PutDashboard");
}

async fn board<P>(fx: &Fixture<P>, name: &str) -> Option<Value> {
    cw(fx)
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .ok()
        .and_then(|d| {
            d.dashboard_body()
                .and_then(|b| serde_json::from_str(b).ok())
        })
}

fn baseline(env: &str, prefix: &str) -> Value {
    json!({"Environment": env, "Prefix": prefix, "ClusterName": prefix, "ServiceNames": ["api"],
        "LogGroupName": format!("/{prefix}/api")})
}

async fn filter_count<P>(fx: &Fixture<P>, group: &str) -> usize {
    fx.logs
        .describe_metric_filters()
        .log_group_name(group)
        .send()
        .await
        .expect("filters")
        .metric_filters()
        .len()
}

/// Defect 1: a copy of a baseline (same Prefix, another logical id, as a rename creates) neither
/// adopts the live baseline's alarms nor, on its Delete, removes them.
#[tokio::test]
async fn a_copied_or_renamed_baseline_never_takes_the_live_ones_alarms() {
    let fx = Fixture::new().await;
    make_group(&fx, "/orders/api", &[]).await;
    ok(&fx
        .send(
            fx.events
                .create(BASELINE, "Baseline", baseline("dev", "orders")),
        )
        .await);
    let made = alarm_names(&fx.account).await;
    assert_eq!(made.len(), 2, "{made:?}");

    let put = fx
        .send(
            fx.events
                .create(BASELINE, "BaselineRenamed", baseline("dev", "orders")),
        )
        .await;
    refused(
        &put,
        "alarms already exist that this baseline did not create",
    );
    // Its rollback Delete, and a Delete as if the copy had been made: nothing of the live one goes.
    ok(&fx
        .send(fx.events.delete(
            BASELINE,
            "BaselineRenamed",
            put.physical_id(),
            baseline("dev", "orders"),
        ))
        .await);
    ok(&fx
        .send(fx.events.delete(
            BASELINE,
            "BaselineRenamed",
            "baseline/orders",
            baseline("dev", "orders"),
        ))
        .await);
    assert_eq!(
        alarm_names(&fx.account).await,
        made,
        "the live baseline's alarms"
    );
    assert_eq!(
        filter_count(&fx, "/orders/api").await,
        1,
        "its error filter"
    );

    // The baseline's own Delete still removes everything it made.
    ok(&fx
        .send(fx.events.delete(
            BASELINE,
            "Baseline",
            "baseline/orders",
            baseline("dev", "orders"),
        ))
        .await);
    assert!(alarm_names(&fx.account).await.is_empty());
    assert_eq!(filter_count(&fx, "/orders/api").await, 0);
}

/// Defect 2: dashboards are global; a baseline deletes only the ones the ledger gives it, and
/// refuses to overwrite anyone else's.
#[tokio::test]
async fn a_baseline_never_deletes_or_overwrites_dashboards_it_did_not_make() {
    let fx = Fixture::new().await;
    make_group(&fx, "/api/api", &[]).await;
    // The prod baseline's dashboards, made from another Region (or by hand).
    put_board(&fx, "api-overview", "prod overview").await;
    put_board(&fx, "api-services", "prod services").await;

    ok(&fx
        .send(
            fx.events
                .create(BASELINE, "Baseline", baseline("qa", "api")),
        )
        .await);
    let put = fx
        .send(fx.events.update(
            BASELINE,
            "Baseline",
            "baseline/api",
            baseline("qa", "api"),
            baseline("prod", "api"),
        ))
        .await;
    refused(&put, "dashboard api-overview already exists");
    ok(&fx
        .send(
            fx.events
                .delete(BASELINE, "Baseline", "baseline/api", baseline("qa", "api")),
        )
        .await);
    assert_eq!(
        board(&fx, "api-overview").await,
        Some(board_body("prod overview"))
    );
    assert_eq!(
        board(&fx, "api-services").await,
        Some(board_body("prod services"))
    );
}

/// Defect 3: a Delete whose id and properties agree still leaves what its stack did not make.
#[tokio::test]
async fn forged_deletes_leave_foreign_log_groups_alarms_and_keys_in_place() {
    let fx = Fixture::new().await;
    make_group(&fx, "/org/cloudtrail", &[]).await;
    let forged = json!({"Environment": "dev", "LogGroupName": "/org/cloudtrail"});
    ok(&fx
        .send(
            fx.events
                .delete(LOG_GROUP, "Trail", "/org/cloudtrail", forged.clone()),
        )
        .await);
    assert!(
        fx.group("/org/cloudtrail").await.is_some(),
        "an untagged group stays"
    );
    let put = fx
        .send(fx.events.update(
            LOG_GROUP,
            "Trail",
            "/org/cloudtrail",
            forged.clone(),
            forged.clone(),
        ))
        .await;
    refused(&put, "belongs to no stackhand stack");
    assert_eq!(
        fx.group("/org/cloudtrail")
            .await
            .and_then(|g| g.retention_in_days()),
        None
    );

    // Another stack's alarm and log group, made through the provider.
    let billing = other_stack(&fx, "billing");
    let alarm = json!({"Environment": "dev", "AlarmName": "billing-cpu", "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
        "Statistic": "Average", "Period": 300, "EvaluationPeriods": 1, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"});
    ok(&fx.send(billing.create(ALARM, "Cpu", alarm.clone())).await);
    ok(&fx
        .send(fx.events.delete(ALARM, "Cpu", "billing-cpu", alarm))
        .await);
    assert!(alarm_names(&fx.account).await.contains("billing-cpu"));
    let group = json!({"Environment": "dev", "LogGroupName": "/billing/api"});
    ok(&fx
        .send(billing.create(LOG_GROUP, "Logs", group.clone()))
        .await);
    ok(&fx
        .send(fx.events.delete(LOG_GROUP, "Logs", "/billing/api", group))
        .await);
    assert!(
        fx.group("/billing/api").await.is_some(),
        "another stack's group stays"
    );

    let topic =
        json!({"Environment": "dev", "TopicName": "billing-alerts", "Severity": "standard"});
    let put = fx
        .send(billing.create("Custom::AlertTopic", "Alerts", topic.clone()))
        .await;
    ok(&put);
    let arn = put.physical_id().to_owned();
    ok(&fx
        .send(
            fx.events
                .delete("Custom::AlertTopic", "Alerts", &arn, topic),
        )
        .await);
    aws_sdk_sns::Client::new(&fx.account.config)
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .expect("another stack's topic stays");

    // Another stack's cluster.
    let efx = Fixture::with(ecs_provider::EcsProvider::new).await;
    let cluster = json!({"Environment": "dev", "ClusterName": "billing"});
    ok(&efx
        .send(other_stack(&efx, "billing").create("Custom::EcsCluster", "Cluster", cluster.clone()))
        .await);
    ok(&efx
        .send(
            efx.events
                .delete("Custom::EcsCluster", "Cluster", "billing", cluster),
        )
        .await);
    let clusters = aws_sdk_ecs::Client::new(&efx.account.config)
        .describe_clusters()
        .clusters("billing")
        .send()
        .await
        .expect("DescribeClusters");
    assert_eq!(
        clusters.clusters().first().and_then(|c| c.status()),
        Some("ACTIVE")
    );

    // Another stack's prod key, with Environment dev: neither scheduled nor retagged.
    let kfx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&kfx.account.config);
    let prod = other_stack(&kfx, "security");
    let put = kfx
        .send(prod.create(
            KEY,
            "Main",
            json!({"Environment": "prod", "Aliases": ["security/main"]}),
        ))
        .await;
    ok(&put);
    let key_id = put.physical_id().to_owned();
    ok(&kfx
        .send(
            kfx.events
                .delete(KEY, "Main", &key_id, json!({"Environment": "dev"})),
        )
        .await);
    assert_eq!(kms.state(&key_id).await, KeyState::Enabled);
    assert!(
        !kms.tags(&key_id)
            .await
            .contains_key("stackhand:retained-at")
    );
    let put = kfx
        .send(kfx.events.update(
            KEY,
            "Main",
            &key_id,
            json!({"Environment": "dev"}),
            json!({"Environment": "dev", "Enabled": false}),
        ))
        .await;
    refused(&put, "resource Main of stack security");
    assert_eq!(kms.state(&key_id).await, KeyState::Enabled);
    // A hand-made key, even one that claims a stack id by hand, is not stackhand's.
    let hand = kms
        .create(NewKey {
            tags: &[("stackhand:stack-id", &kfx.events.stack_id)],
            ..NewKey::default()
        })
        .await;
    ok(&kfx
        .send(
            kfx.events
                .delete(KEY, "Main", &hand, json!({"Environment": "dev"})),
        )
        .await);
    assert_eq!(kms.state(&hand).await, KeyState::Enabled);
}

/// Defect 4: two stacks asking for the same untaggable resource do not share it.
#[tokio::test]
async fn identical_untaggable_resources_are_never_shared_between_stacks() {
    let fx = Fixture::new().await;
    make_group(&fx, "/orders/api", &[]).await;
    let billing = other_stack(&fx, "billing");

    let board_props = json!({"Environment": "dev", "DashboardName": "orders", "DashboardBody": board_body("orders")});
    ok(&fx
        .send(fx.events.create(DASHBOARD, "Board", board_props.clone()))
        .await);
    let put = fx
        .send(billing.create(DASHBOARD, "Board", board_props.clone()))
        .await;
    refused(&put, "resource Board of stack demo");
    ok(&fx
        .send(billing.delete(DASHBOARD, "Board", put.physical_id(), board_props.clone()))
        .await);
    ok(&fx
        .send(billing.delete(DASHBOARD, "Board", "orders", board_props.clone()))
        .await);
    assert!(
        board(&fx, "orders").await.is_some(),
        "the first stack's dashboard stays"
    );

    let filter = json!({"Environment": "dev", "LogGroupName": "/orders/api", "FilterName": "errors", "FilterPattern": "ERROR",
        "MetricNamespace": "Orders", "MetricName": "Errors"});
    ok(&fx
        .send(fx.events.create(FILTER, "Errors", filter.clone()))
        .await);
    refused(
        &fx.send(billing.create(FILTER, "Errors", filter.clone()))
            .await,
        "resource Errors of stack demo",
    );
    ok(&fx
        .send(billing.delete(FILTER, "Errors", "/orders/api|errors", filter.clone()))
        .await);
    assert_eq!(filter_count(&fx, "/orders/api").await, 1);

    let query = json!({"Environment": "dev", "Name": "orders/errors", "QueryString": "fields @message", "LogGroupNames": ["/orders/api"]});
    let ours = fx
        .send(fx.events.create(QUERY, "Query", query.clone()))
        .await;
    ok(&ours);
    let theirs = fx.send(billing.create(QUERY, "Query", query.clone())).await;
    ok(&theirs);
    assert_ne!(
        theirs.physical_id(),
        ours.physical_id(),
        "each stack has its own definition"
    );
    ok(&fx
        .send(billing.delete(QUERY, "Query", ours.physical_id(), query.clone()))
        .await);
    ok(&fx
        .send(billing.delete(QUERY, "Query", theirs.physical_id(), query.clone()))
        .await);
    let left: Vec<String> = fx
        .logs
        .describe_query_definitions()
        .send()
        .await
        .expect("definitions")
        .query_definitions()
        .iter()
        .filter_map(|d| d.query_definition_id().map(str::to_owned))
        .collect();
    assert_eq!(left, vec![ours.physical_id().to_owned()]);

    // Each stack's own Delete still works.
    ok(&fx
        .send(fx.events.delete(DASHBOARD, "Board", "orders", board_props))
        .await);
    ok(&fx
        .send(
            fx.events
                .delete(FILTER, "Errors", "/orders/api|errors", filter),
        )
        .await);
    ok(&fx
        .send(fx.events.delete(QUERY, "Query", ours.physical_id(), query))
        .await);
    assert!(board(&fx, "orders").await.is_none());
    assert_eq!(filter_count(&fx, "/orders/api").await, 0);
}

/// Defect 5: a resource made for prod keeps prod's protection when an event names dev.
#[tokio::test]
async fn a_prod_group_or_key_moved_to_dev_keeps_prods_retention() {
    let fx = Fixture::new().await;
    let key = common::key_arn(&fx.account);
    let prod = json!({"Environment": "prod", "LogGroupName": "/prod/audit", "KmsKeyArn": key});
    ok(&fx
        .send(fx.events.create(LOG_GROUP, "Audit", prod.clone()))
        .await);
    let dev = json!({"Environment": "dev", "LogGroupName": "/prod/audit"});
    ok(&fx
        .send(
            fx.events
                .update(LOG_GROUP, "Audit", "/prod/audit", prod, dev.clone()),
        )
        .await);
    let group = fx.group("/prod/audit").await.expect("kept");
    assert_eq!(
        group.retention_in_days(),
        Some(90),
        "not cut to dev's 7 days"
    );
    ok(&fx
        .send(fx.events.delete(LOG_GROUP, "Audit", "/prod/audit", dev))
        .await);
    assert!(
        fx.group("/prod/audit").await.is_some(),
        "retained as prod's are"
    );

    let kfx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&kfx.account.config);
    let put = kfx
        .send(
            kfx.events
                .create(KEY, "Main", json!({"Environment": "prod"})),
        )
        .await;
    ok(&put);
    let key_id = put.physical_id().to_owned();
    ok(&kfx
        .send(kfx.events.delete(
            KEY,
            "Main",
            &key_id,
            json!({"Environment": "dev", "PendingWindowInDays": 7}),
        ))
        .await);
    assert_eq!(
        kms.state(&key_id).await,
        KeyState::Enabled,
        "retained as prod's are"
    );
    assert!(
        kms.tags(&key_id)
            .await
            .contains_key("stackhand:retained-at")
    );
}

/// Defect 6: a replacement rolled back leaves the old key with its aliases.
#[tokio::test]
async fn a_rolled_back_key_replacement_gives_the_aliases_back() {
    let fx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&fx.account.config);
    let v1 = json!({"Environment": "dev", "Aliases": ["orders"]});
    let put = fx.send(fx.events.create(KEY, "Key", v1.clone())).await;
    ok(&put);
    let old_key = put.physical_id().to_owned();
    let v2 = json!({"Environment": "dev", "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY", "Aliases": ["orders"]});
    let put = fx
        .send(fx.events.update(KEY, "Key", &old_key, v1, v2.clone()))
        .await;
    ok(&put);
    let new_key = put.physical_id().to_owned();
    assert_ne!(new_key, old_key);
    assert_eq!(
        kms.alias_target("alias/orders").await.as_deref(),
        Some(new_key.as_str())
    );

    // Another resource failed: CloudFormation goes back to the old key and deletes the new one.
    ok(&fx.send(fx.events.delete(KEY, "Key", &new_key, v2)).await);
    assert_eq!(kms.state(&new_key).await, KeyState::PendingDeletion);
    assert_eq!(
        kms.alias_target("alias/orders").await.as_deref(),
        Some(old_key.as_str())
    );
    assert_eq!(kms.state(&old_key).await, KeyState::Enabled);
}

/// Defect 7: the sweep for a cancelled Create takes only what this logical resource made within
/// the window, never an older group of the same logical id (kept by `DeletionPolicy: Retain`).
#[tokio::test]
async fn a_cancelled_create_sweep_never_takes_an_older_resource() {
    let fx = Fixture::new().await;
    let stack = fx.events.stack_id.clone();
    make_group(
        &fx,
        "/kept/api",
        &[
            ("stackhand:stack-id", &stack),
            ("stackhand:logical-id", "Logs"),
            ("stackhand:request-id", "an-old-request"),
            ("stackhand:made-at", "1600000000"),
        ],
    )
    .await;
    let props = json!({"Environment": "dev", "LogGroupName": "/kept/api"});
    let (event, request_id) = fx
        .events
        .delete(LOG_GROUP, "Logs", "Logs-made-up-id", props);
    let _ = e2e::invoke_in_process(&fx.provider, event, Duration::from_secs(4)).await;
    ok(&fx.listener.response(&request_id, common::TIMEOUT).await);
    assert!(
        fx.group("/kept/api").await.is_some(),
        "an older group of the same logical id stays"
    );
}

/// Resources made by the release before owner records (tags without environment and time; no
/// ledger entry for dashboards) keep working: an Update and a Delete of each.
#[tokio::test]
async fn resources_of_the_release_before_update_and_delete() {
    let fx = Fixture::new().await;
    let stack = fx.events.stack_id.clone();
    make_group(
        &fx,
        "/legacy/api",
        &[
            ("stackhand:stack-id", &stack),
            ("stackhand:logical-id", "Logs"),
            ("stackhand:request-id", "r-before"),
        ],
    )
    .await;
    let v1 = json!({"Environment": "dev", "LogGroupName": "/legacy/api"});
    let v2 = json!({"Environment": "dev", "LogGroupName": "/legacy/api", "RetentionInDays": 30});
    ok(&fx
        .send(
            fx.events
                .update(LOG_GROUP, "Logs", "/legacy/api", v1, v2.clone()),
        )
        .await);
    assert_eq!(
        fx.group("/legacy/api")
            .await
            .and_then(|g| g.retention_in_days()),
        Some(30)
    );
    ok(&fx
        .send(fx.events.delete(LOG_GROUP, "Logs", "/legacy/api", v2))
        .await);
    assert!(fx.group("/legacy/api").await.is_none());

    // A dashboard with no ledger entry: exactly what the old properties wrote, so the Update
    // records it; then its Delete removes it.
    put_board(&fx, "legacy", "v1").await;
    let d1 =
        json!({"Environment": "dev", "DashboardName": "legacy", "DashboardBody": board_body("v1")});
    let d2 =
        json!({"Environment": "dev", "DashboardName": "legacy", "DashboardBody": board_body("v2")});
    ok(&fx
        .send(
            fx.events
                .update(DASHBOARD, "Board", "legacy", d1, d2.clone()),
        )
        .await);
    assert_eq!(board(&fx, "legacy").await, Some(board_body("v2")));
    ok(&fx
        .send(fx.events.delete(DASHBOARD, "Board", "legacy", d2))
        .await);
    assert!(board(&fx, "legacy").await.is_none());

    // Without that Update, nothing proves whose it is: the Delete leaves it.
    put_board(&fx, "unproven", "v1").await;
    let d = json!({"Environment": "dev", "DashboardName": "unproven", "DashboardBody": board_body("v1")});
    ok(&fx
        .send(fx.events.delete(DASHBOARD, "Board", "unproven", d))
        .await);
    assert!(board(&fx, "unproven").await.is_some());
}
