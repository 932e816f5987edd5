//! What real AWS enforces, checked end to end against the emulator's strict layer
//! (`tests/emulator/stackhand_moto/strict.py`): the largest realistic inputs stay within the
//! 4,096-byte response, KMS calls come in the order a disabled key allows, and an anomaly
//! detector another alarm uses survives whatever order its dimensions were given in.
//!
//! Longer than 400 lines on purpose: one file is one test binary, and its tests share one
//! emulator process; a split would add a binary and an emulator start for no clearer grouping.

mod common;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_kms::types::KeyState;
use common::Fixture;
use common::kms::KmsView;
use e2e::RecordedPut;
use kms_provider::KmsProvider;
use serde_json::{Value, json};

const KEY: &str = "Custom::KmsKey";

fn ok(put: &RecordedPut) {
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(put.raw_body.len() <= 4096, "{} bytes", put.raw_body.len());
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// Issue defect 1: a prod baseline of 30 services made hundreds of alarms and then overflowed
/// the response through AlarmNames; a key with every list at its realistic largest.
#[tokio::test]
async fn the_largest_realistic_inputs_answer_within_4096_bytes() {
    // 330 alarms need a raised CloudWatch quota to fit one request (see the next test).
    let fx = Fixture::with(|config| {
        monitoring_provider::MonitoringProvider::with_alarm_writes_per_second(config, 120.0)
    })
    .await;
    fx.account.raise_alarm_quotas(40).await;
    fx.logs
        .create_log_group()
        .log_group_name("/shop/api")
        .send()
        .await
        .expect("group");
    let services: Vec<String> = (0..30).map(|i| format!("service-{i:02}")).collect();
    let props = json!({"Environment": "prod", "Prefix": "shop", "ClusterName": "shop",
        "ServiceNames": services, "LogGroupName": "/shop/api"});
    let put = fx
        .send(fx.events.create("Custom::AlarmBaseline", "Baseline", props))
        .await;
    ok(&put);
    let count: usize = put.data("AlarmCount").parse().expect("count");
    assert!(count > 300, "{count} alarms for 30 services");
    assert_eq!(put.data("AlarmNamePrefix"), "shop-");

    let kfx = Fixture::with(KmsProvider::new).await;
    let account = kfx.account.id.clone();
    let tags: Vec<Value> = (0..40)
        .map(|i| json!({"Key": format!("cost-centre-{i:02}"), "Value": "x".repeat(200)}))
        .collect();
    let aliases: Vec<String> = (0..10)
        .map(|i| format!("alias/shop/a-long-application-name-{i:02}"))
        .collect();
    let grants: Vec<Value> = (0..20)
        .map(|i| json!({"Name": format!("worker-{i:02}"), "GranteePrincipal": role(&account, &format!("worker-{i:02}")), "Operations": ["Decrypt", "GenerateDataKey"]}))
        .collect();
    let users: Vec<String> = (0..20)
        .map(|i| role(&account, &format!("user-{i:02}")))
        .collect();
    let props = json!({"Environment": "prod", "Description": "d".repeat(8192), "Aliases": aliases,
        "KeyAdministrators": [role(&account, "admin")], "KeyUsers": users, "Grants": grants, "Tags": tags});
    let put = kfx.send(kfx.events.create(KEY, "Big", props)).await;
    ok(&put);
    assert_eq!(put.data("AliasNames").split(',').count(), 10);
}

/// Issue defect 3: real KMS refuses rotation and grant changes on a disabled key.
#[tokio::test]
async fn a_disabled_key_is_enabled_before_rotation_and_grants_change() {
    let fx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&fx.account.config);
    let account = fx.account.id.clone();
    let v1 = json!({"Environment": "dev", "Enabled": false});
    let put = fx.send(fx.events.create(KEY, "Key", v1.clone())).await;
    ok(&put);
    let key_id = put.physical_id().to_owned();
    assert_eq!(kms.state(&key_id).await, KeyState::Disabled);

    // Staying disabled, a grant cannot be added: the Reason says why, before KMS does.
    let grant = json!([{"Name": "worker", "GranteePrincipal": role(&account, "worker"), "Operations": ["Decrypt"]}]);
    let v2 = json!({"Environment": "dev", "Enabled": false, "Grants": grant});
    let put = fx
        .send(fx.events.update(KEY, "Key", &key_id, v1.clone(), v2))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .contains("Grants cannot change while the key stays disabled"),
        "{}",
        put.reason()
    );

    // Enabled in the same update: EnableKey first, then rotation and the grant.
    let v3 = json!({"Environment": "dev", "Enabled": true, "RotationPeriodInDays": 180, "Grants": grant});
    let put = fx
        .send(fx.events.update(KEY, "Key", &key_id, v1, v3.clone()))
        .await;
    ok(&put);
    assert_eq!(kms.state(&key_id).await, KeyState::Enabled);
    assert!(kms.rotation_enabled(&key_id).await);
    assert_eq!(kms.grants(&key_id).await.len(), 1);

    // Deletion scheduled by hand: the Update cancels it (the key comes back Disabled) and
    // enables the key before touching rotation.
    kms.kms
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule");
    let v4 = json!({"Environment": "dev", "Enabled": true, "RotationPeriodInDays": 365, "Grants": grant});
    let put = fx.send(fx.events.update(KEY, "Key", &key_id, v3, v4)).await;
    ok(&put);
    assert_eq!(kms.state(&key_id).await, KeyState::Enabled);
}

fn metric(dimensions: &[(&str, &str)]) -> Metric {
    Metric::builder()
        .namespace("AWS/ApplicationELB")
        .metric_name("RequestCount")
        .set_dimensions(Some(
            dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

/// Issue defect 10: dimensions were compared in order, so a detector another alarm still uses
/// was deleted when that alarm listed the same dimensions in another order.
#[tokio::test]
async fn a_detector_another_alarm_uses_survives_whatever_its_dimension_order() {
    let fx = Fixture::new().await;
    let cw = aws_sdk_cloudwatch::Client::new(&fx.account.observer());
    let props = json!({"Environment": "prod", "AlarmName": "requests-anomaly", "Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
        "Dimensions": [{"Name": "LoadBalancer", "Value": "app/shop/1"}, {"Name": "TargetGroup", "Value": "tg/shop/2"}],
        "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 2, "AnomalyBandWidth": "2"});
    ok(&fx
        .send(
            fx.events
                .create("Custom::MetricAlarm", "Anomaly", props.clone()),
        )
        .await);
    // Another team's alarm on the same band, dimensions in the other order.
    cw.put_metric_alarm()
        .alarm_name("theirs")
        .evaluation_periods(2)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanUpperThreshold,
        )
        .threshold_metric_id("ad1")
        .metrics(
            MetricDataQuery::builder()
                .id("m1")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric(&[
                            ("TargetGroup", "tg/shop/2"),
                            ("LoadBalancer", "app/shop/1"),
                        ]))
                        .period(300)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build(),
        )
        .metrics(
            MetricDataQuery::builder()
                .id("ad1")
                .expression("ANOMALY_DETECTION_BAND(m1, 2)")
                .return_data(true)
                .build(),
        )
        .send()
        .await
        .expect("their alarm");
    ok(&fx
        .send(
            fx.events
                .delete("Custom::MetricAlarm", "Anomaly", "requests-anomaly", props),
        )
        .await);
    let detectors = cw
        .describe_anomaly_detectors()
        .send()
        .await
        .expect("detectors");
    assert_eq!(
        detectors.anomaly_detectors().len(),
        1,
        "still used by theirs"
    );
}

/// Issue defect 5: conditions that restrict nothing (by IAM Access Analyzer's rules) no longer
/// pass the public-policy check the provider and the auditor share.
#[tokio::test]
async fn a_key_policy_open_to_everyone_behind_a_hollow_condition_is_refused() {
    let fx = Fixture::with(KmsProvider::new).await;
    let root = format!("arn:aws:iam::{}:root", fx.account.id);
    for hollow in [
        json!({"Null": {"aws:PrincipalArn": "false"}}),
        json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}),
        json!({"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}),
    ] {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": hollow}]});
        let put = fx
            .send(fx.events.create(
                KEY,
                "Open",
                json!({"Environment": "dev", "KeyPolicy": policy}),
            ))
            .await;
        assert_eq!(put.status(), "FAILED", "{hollow}");
        assert!(
            put.reason().contains("must not allow everyone")
                && put.reason().contains("Statement[1]"),
            "{hollow}: {}",
            put.reason()
        );
    }
    assert!(
        KmsView::new(&fx.account.config).all_keys().await.is_empty(),
        "no key made"
    );
}

/// Issue defect 9: a Delete must not depend on today's validation. A group made by a release
/// that allowed 42 user tags (today: 40) is still deleted with its stack; an Update is refused.
#[tokio::test]
async fn a_delete_under_rules_tightened_since_still_deletes() {
    let fx = Fixture::new().await;
    let stack = fx.events.stack_id.clone();
    let mut create = fx
        .logs
        .create_log_group()
        .log_group_name("/older/api")
        .tags("stackhand:stack-id", &stack)
        .tags("stackhand:logical-id", "Logs")
        .tags("stackhand:request-id", "r-older");
    let mut tags = Vec::new();
    for i in 0..42 {
        create = create.tags(format!("k{i:02}"), "v");
        tags.push(json!({"Key": format!("k{i:02}"), "Value": "v"}));
    }
    create.send().await.expect("group");
    let props = json!({"Environment": "dev", "LogGroupName": "/older/api", "Tags": tags});
    let put = fx
        .send(fx.events.update(
            "Custom::LogGroup",
            "Logs",
            "/older/api",
            props.clone(),
            props.clone(),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason().contains("Tags may hold at most 40 tags"),
        "{}",
        put.reason()
    );
    ok(&fx
        .send(
            fx.events
                .delete("Custom::LogGroup", "Logs", "/older/api", props),
        )
        .await);
    assert!(
        fx.group("/older/api").await.is_none(),
        "deleted with its stack"
    );
}

/// Issue defect 2: a replica's policy names its own Region, and an Update reaches every replica:
/// removing a user, a new description or `Enabled: false` leaves no replica behind.
#[tokio::test]
async fn replicas_follow_the_primary_each_with_its_own_region() {
    let fx = Fixture::with(KmsProvider::new).await;
    let account = fx.account.id.clone();
    let eu = KmsView {
        kms: aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&fx.account.config)
                .region(aws_sdk_kms::config::Region::new("eu-west-1"))
                .build(),
        ),
    };
    let v1 = json!({"Environment": "dev", "Description": "orders", "MultiRegion": true, "ReplicaRegions": ["eu-west-1"],
        "KeyUsers": [role(&account, "app"), role(&account, "batch")], "ViaServices": ["rds"]});
    let put = fx.send(fx.events.create(KEY, "Global", v1.clone())).await;
    ok(&put);
    let key_id = put.physical_id().to_owned();
    let policy = eu.policy(&key_id).await.to_string();
    assert!(policy.contains("rds.eu-west-1.amazonaws.com"), "{policy}");
    assert!(!policy.contains("rds.us-east-1.amazonaws.com"), "{policy}");

    let v2 = json!({"Environment": "dev", "Description": "orders v2", "MultiRegion": true, "ReplicaRegions": ["eu-west-1"],
        "KeyUsers": [role(&account, "app")], "ViaServices": ["rds"], "Enabled": false});
    ok(&fx
        .send(fx.events.update(KEY, "Global", &key_id, v1, v2))
        .await);
    let replica = eu.key(&key_id).await;
    assert_eq!(replica.description(), Some("orders v2"));
    assert_eq!(replica.key_state(), Some(&KeyState::Disabled));
    let policy = eu.policy(&key_id).await.to_string();
    assert!(
        !policy.contains("role/batch"),
        "the removed user is gone from the replica: {policy}"
    );
    assert!(policy.contains("role/app"), "{policy}");
}

/// Issue defect 8: a stack in another account than the provider's (a cross-account
/// ServiceToken) is refused before a key is made with a policy naming the wrong account.
#[tokio::test]
async fn a_stack_in_another_account_is_refused_before_any_key_is_made() {
    let fx = Fixture::with(KmsProvider::new).await;
    let elsewhere = e2e::CfnEvents::new(
        "arn:aws:cloudformation:us-east-1:111122223333:stack/shared/0f0e0d0c".to_owned(),
        fx.listener.clone(),
    );
    let put = fx
        .send(elsewhere.create(
            KEY,
            "Key",
            json!({"Environment": "dev", "Aliases": ["cross"]}),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason().contains(&format!(
            "the stack is in account 111122223333 but kms-provider makes keys in account {}",
            fx.account.id
        )),
        "{}",
        put.reason()
    );
    assert!(KmsView::new(&fx.account.config).all_keys().await.is_empty());
}

/// Proof that was missing: the rotation period KMS stores, read back after a Create and an
/// Update (the emulator now keeps it, as KMS does).
#[tokio::test]
async fn the_rotation_period_is_what_kms_stores_after_create_and_update() {
    let fx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&fx.account.config);
    let v1 = json!({"Environment": "dev", "RotationPeriodInDays": 180});
    let put = fx.send(fx.events.create(KEY, "Key", v1.clone())).await;
    ok(&put);
    let key_id = put.physical_id().to_owned();
    let period = |kms: &KmsView, key_id: String| {
        let kms = kms.kms.clone();
        async move {
            kms.get_key_rotation_status()
                .key_id(key_id)
                .send()
                .await
                .expect("status")
                .rotation_period_in_days()
        }
    };
    assert_eq!(period(&kms, key_id.clone()).await, Some(180));
    let v2 = json!({"Environment": "dev", "RotationPeriodInDays": 730});
    ok(&fx.send(fx.events.update(KEY, "Key", &key_id, v1, v2)).await);
    assert_eq!(period(&kms, key_id).await, Some(730));
}

/// Proof that was missing: the policy KMS stores for the ServicePrincipals and ViaServices
/// personas, statement by statement.
#[tokio::test]
async fn persona_policies_are_stored_statement_by_statement() {
    let fx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&fx.account.config);
    let account = fx.account.id.clone();
    let props = json!({"Environment": "dev", "KeyAdministrators": [role(&account, "admin")],
        "KeyUsers": [role(&account, "app")], "ViaServices": ["rds", "s3.us-east-1.amazonaws.com"],
        "ServicePrincipals": ["logs.us-east-1.amazonaws.com"]});
    let put = fx.send(fx.events.create(KEY, "Key", props)).await;
    ok(&put);
    let policy = kms.policy(put.physical_id()).await;
    let statements = policy["Statement"].as_array().expect("statements");
    let sids: Vec<&str> = statements
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(
        sids,
        [
            "AccountRootKeepsAccess",
            "KeyAdministrators",
            "KeyUsers",
            "KeyUsersGrantForAwsResources",
            "ServicePrincipals"
        ]
    );
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"] == sid)
            .expect(sid)
            .clone()
    };
    assert_eq!(
        by_sid("AccountRootKeepsAccess")["Principal"]["AWS"],
        format!("arn:aws:iam::{account}:root")
    );
    assert_eq!(
        by_sid("KeyAdministrators")["Principal"]["AWS"],
        json!([role(&account, "admin")])
    );
    let via = json!({"kms:ViaService": ["rds.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"], "kms:CallerAccount": account});
    let users = by_sid("KeyUsers");
    assert_eq!(users["Principal"]["AWS"], json!([role(&account, "app")]));
    assert_eq!(users["Condition"]["StringEquals"], via);
    let grants = by_sid("KeyUsersGrantForAwsResources");
    assert_eq!(grants["Condition"]["StringEquals"], via);
    assert_eq!(
        grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"],
        "true"
    );
    let services = by_sid("ServicePrincipals");
    assert_eq!(
        services["Principal"]["Service"],
        json!(["logs.us-east-1.amazonaws.com"])
    );
    assert_eq!(
        services["Condition"]["StringEquals"]["aws:SourceAccount"],
        account
    );
    assert!(shared::key_policy::public_statements(&policy).is_empty());
}

/// Proof that was missing: the uat key set (four keys, a 30-day window, retained on Delete).
#[tokio::test]
async fn the_uat_key_set_makes_four_keys_and_keeps_them() {
    let fx = Fixture::with(KmsProvider::new).await;
    let kms = KmsView::new(&fx.account.config);
    let props = json!({"Environment": "uat", "Prefix": "shop"});
    let put = fx
        .send(fx.events.create("Custom::KmsKeySet", "Keys", props.clone()))
        .await;
    ok(&put);
    assert_eq!(put.data("KeyCount"), "4");
    let ids: Vec<String> = ["Main", "Rds", "S3", "Ebs"]
        .iter()
        .map(|s| put.data(&format!("{s}KeyId")).to_owned())
        .collect();
    for id in &ids {
        assert!(kms.rotation_enabled(id).await, "{id}");
        assert_eq!(
            kms.tags(id)
                .await
                .get("stackhand:environment")
                .map(String::as_str),
            Some("uat")
        );
    }
    ok(&fx
        .send(
            fx.events
                .delete("Custom::KmsKeySet", "Keys", "keyset/shop", props),
        )
        .await);
    for id in &ids {
        assert_eq!(kms.state(id).await, KeyState::Enabled, "uat keeps its keys");
    }
}

fn cpu_alarm(name: &str) -> Value {
    json!({"Environment": "dev", "AlarmName": name, "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
        "Statistic": "Average", "Period": 300, "EvaluationPeriods": 1, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"})
}

/// Issue defect 11: CloudWatch's request quotas (3 PutMetricAlarm a second per account and
/// Region, enforced by the emulator). Twenty alarms CloudFormation creates at once, each in its
/// own function instance, all succeed; a baseline that cannot be made in the time a request has
/// fails at once, saying why, instead of half-made at the deadline.
#[tokio::test]
async fn alarm_calls_keep_to_cloudwatchs_request_quotas() {
    let fx = Fixture::new().await;
    let mut instances = tokio::task::JoinSet::new();
    let mut request_ids = Vec::new();
    for i in 0..20 {
        let provider = std::sync::Arc::new(Ok::<_, String>(
            monitoring_provider::MonitoringProvider::new(&fx.account.config),
        ));
        let (event, request_id) = fx.events.create(
            "Custom::MetricAlarm",
            &format!("Cpu{i}"),
            cpu_alarm(&format!("cpu-{i:02}")),
        );
        request_ids.push(request_id);
        instances.spawn(async move {
            let _ = e2e::invoke_in_process(
                provider.as_ref(),
                event,
                std::time::Duration::from_secs(60),
            )
            .await;
        });
    }
    instances.join_all().await;
    for request_id in request_ids {
        ok(&fx.listener.response(&request_id, common::TIMEOUT).await);
    }
    assert_eq!(common::alarm_names(&fx.account).await.len(), 20);

    fx.logs
        .create_log_group()
        .log_group_name("/big/api")
        .send()
        .await
        .expect("group");
    let services: Vec<String> = (0..30).map(|i| format!("service-{i:02}")).collect();
    let props = json!({"Environment": "prod", "Prefix": "big", "ClusterName": "big",
        "ServiceNames": services, "LogGroupName": "/big/api"});
    let put = fx
        .send(fx.events.create("Custom::AlarmBaseline", "Baseline", props))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .contains("at CloudWatch's quota of 3 PutMetricAlarm a second")
            && put
                .reason()
                .contains("split ServiceNames across several baselines"),
        "{}",
        put.reason()
    );
    assert_eq!(
        common::alarm_names(&fx.account).await.len(),
        20,
        "the baseline made nothing"
    );
}

/// The other providers at their largest realistic input: a cluster with the longest name and 40
/// tags, a prod key set with the longest prefix, a log group with the longest name and 40 tags.
#[tokio::test]
async fn every_other_provider_answers_its_largest_input_within_4096_bytes() {
    let tags: Vec<Value> = (0..40)
        .map(|i| json!({"Key": format!("k{i:02}-{}", "t".repeat(100)), "Value": "v".repeat(256)}))
        .collect();
    let efx = Fixture::with(ecs_provider::EcsProvider::new).await;
    let cluster = "c".repeat(255);
    let put = efx
        .send(efx.events.create(
            "Custom::EcsCluster",
            "Cluster",
            json!({"Environment": "prod", "ClusterName": cluster, "Tags": tags}),
        ))
        .await;
    ok(&put);

    let kfx = Fixture::with(KmsProvider::new).await;
    let prefix = "p".repeat(40);
    let put = kfx
        .send(kfx.events.create(
            "Custom::KmsKeySet",
            "Keys",
            json!({"Environment": "prod", "Prefix": prefix, "Tags": tags}),
        ))
        .await;
    ok(&put);
    assert_eq!(put.data("KeyCount"), "4");

    let fx = Fixture::new().await;
    let name = format!("/{}", "g".repeat(511));
    let put = fx
        .send(fx.events.create(
            "Custom::LogGroup",
            "Logs",
            json!({"Environment": "dev", "LogGroupName": name, "Tags": tags}),
        ))
        .await;
    ok(&put);
}
