//! `Custom::EcsCluster` end to end: the lifecycle CloudFormation drives, checked in the emulator.

mod common;

use aws_sdk_ecs::types::{Cluster, ClusterField};
use common::Fixture;
use ecs_provider::EcsProvider;
use serde_json::json;

const CLUSTER: &str = "Custom::EcsCluster";

async fn fixture() -> (Fixture<EcsProvider>, aws_sdk_ecs::Client) {
    let fx = Fixture::with(EcsProvider::new).await;
    let ecs = aws_sdk_ecs::Client::new(&fx.account.config);
    (fx, ecs)
}

/// The cluster as ECS reports it, if ACTIVE.
async fn cluster(ecs: &aws_sdk_ecs::Client, name: &str) -> Option<Cluster> {
    ecs.describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .send()
        .await
        .expect("describe")
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .cloned()
}

fn setting(cluster: &Cluster) -> Option<&str> {
    cluster
        .settings()
        .iter()
        .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
        .and_then(|s| s.value())
}

fn strategy(cluster: &Cluster) -> Vec<(String, i32, i32)> {
    cluster
        .default_capacity_provider_strategy()
        .iter()
        .map(|s| (s.capacity_provider().to_owned(), s.weight(), s.base()))
        .collect()
}

fn exec_logging(cluster: &Cluster) -> Option<String> {
    cluster
        .configuration()
        .and_then(|c| c.execute_command_configuration())
        .and_then(|e| e.logging())
        .map(|l| l.as_str().to_owned())
}

fn tag<'a>(cluster: &'a Cluster, key: &str) -> Option<&'a str> {
    cluster
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test]
async fn dev_lifecycle_create_update_replace_delete() {
    let (fx, ecs) = fixture().await;
    let v1 = json!({"Environment": "dev", "ClusterName": "apps", "Tags": [{"Key": "team", "Value": "core"}, {"Key": "tier", "Value": "web"}]});
    let (event, create_id) = fx.events.create(CLUSTER, "Cluster", v1.clone());
    let put = fx.send((event, create_id.clone())).await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "apps");
    assert_eq!(
        put.data("ClusterArn"),
        format!("arn:aws:ecs:us-east-1:{}:cluster/apps", fx.account.id)
    );
    assert_eq!(put.data("ServiceConnectNamespaceArn"), "");
    assert_eq!(put.data("ExecuteCommandEnabled"), "true");
    assert_eq!(
        put.data("EstimatedMonthlyCostUsd"),
        "0.00",
        "a cluster has no monthly charge"
    );
    let live = cluster(&ecs, "apps").await.expect("created");
    assert_eq!(setting(&live), Some("enabled"));
    assert_eq!(live.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(strategy(&live), [("FARGATE_SPOT".to_owned(), 1, 0)]);
    assert_eq!(exec_logging(&live).as_deref(), Some("DEFAULT"));
    assert_eq!(tag(&live, "team"), Some("core"));
    assert_eq!(tag(&live, "stackhand:request-id"), Some(create_id.as_str()));

    let v2 = json!({
        "Environment": "dev", "ClusterName": "apps", "ContainerInsights": "enhanced",
        "ExecuteCommandLogGroupName": "/ecs/exec", "ExecuteCommandKmsKeyArn": format!("arn:aws:kms:us-east-1:{}:key/k1", fx.account.id),
        "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": "1", "Base": "1"}, {"CapacityProvider": "FARGATE_SPOT", "Weight": "4"}],
        "Tags": [{"Key": "team", "Value": "platform"}]
    });
    let put = fx
        .send(fx.events.update(CLUSTER, "Cluster", "apps", v1, v2.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "apps", "in place");
    let live = cluster(&ecs, "apps").await.expect("exists");
    assert_eq!(setting(&live), Some("enhanced"));
    assert_eq!(
        strategy(&live),
        [
            ("FARGATE".to_owned(), 1, 1),
            ("FARGATE_SPOT".to_owned(), 4, 0)
        ]
    );
    assert_eq!(exec_logging(&live).as_deref(), Some("OVERRIDE"));
    assert_eq!(tag(&live, "team"), Some("platform"));
    assert_eq!(tag(&live, "tier"), None, "a removed tag is untagged");

    let v3 = json!({"Environment": "dev", "ClusterName": "apps-v2"});
    let put = fx
        .send(
            fx.events
                .update(CLUSTER, "Cluster", "apps", v2.clone(), v3.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.physical_id(), "apps-v2", "a new name is a replacement");
    assert!(
        cluster(&ecs, "apps").await.is_some(),
        "the old cluster waits for its Delete"
    );

    for (id, props) in [("apps", v2), ("apps-v2", v3.clone())] {
        let put = fx
            .send(fx.events.delete(CLUSTER, "Cluster", id, props))
            .await;
        assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
        assert!(cluster(&ecs, id).await.is_none());
    }
    let put = fx
        .send(fx.events.delete(CLUSTER, "Cluster", "apps-v2", v3))
        .await;
    assert_eq!(
        put.status(),
        "SUCCESS",
        "a Delete of a cluster already gone succeeds"
    );
}

#[tokio::test]
async fn prod_lifecycle_fargate_base_2_service_connect_and_no_exec() {
    let (fx, ecs) = fixture().await;
    let props = json!({"Environment": "prod", "ClusterName": "shop"});
    let put = fx
        .send(fx.events.create(CLUSTER, "Cluster", props.clone()))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert_eq!(put.data("ServiceConnectNamespaceArn"), "shop.internal");
    assert_eq!(put.data("ExecuteCommandEnabled"), "false");
    let live = cluster(&ecs, "shop").await.expect("created");
    assert_eq!(strategy(&live), [("FARGATE".to_owned(), 1, 2)]);
    assert_eq!(exec_logging(&live).as_deref(), Some("NONE"));
    assert_eq!(
        live.service_connect_defaults().and_then(|d| d.namespace()),
        Some("shop.internal")
    );
    // Update in place, then Delete: clusters hold no data, so prod deletes them too.
    let newer = json!({"Environment": "prod", "ClusterName": "shop", "ContainerInsights": "enhanced", "Tags": [{"Key": "tier", "Value": "gold"}]});
    let put = fx
        .send(
            fx.events
                .update(CLUSTER, "Cluster", "shop", props, newer.clone()),
        )
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cluster(&ecs, "shop").await.expect("exists");
    assert_eq!(setting(&live), Some("enhanced"));
    assert_eq!(tag(&live, "tier"), Some("gold"));
    assert_eq!(strategy(&live), [("FARGATE".to_owned(), 1, 2)], "unchanged");
    let put = fx
        .send(fx.events.delete(CLUSTER, "Cluster", "shop", newer))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(cluster(&ecs, "shop").await.is_none());
}

#[tokio::test]
async fn moving_from_dev_to_uat_applies_the_new_profile() {
    let (fx, ecs) = fixture().await;
    let dev = json!({"Environment": "dev", "ClusterName": "promoted"});
    assert_eq!(
        fx.send(fx.events.create(CLUSTER, "Cluster", dev.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    let uat = json!({"Environment": "uat", "ClusterName": "promoted"});
    let put = fx
        .send(fx.events.update(CLUSTER, "Cluster", "promoted", dev, uat))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    let live = cluster(&ecs, "promoted").await.expect("exists");
    assert_eq!(
        strategy(&live),
        [
            ("FARGATE".to_owned(), 1, 1),
            ("FARGATE_SPOT".to_owned(), 1, 0)
        ]
    );
    assert_eq!(exec_logging(&live).as_deref(), Some("NONE"));
    assert_eq!(put.data("ServiceConnectNamespaceArn"), "promoted.internal");
}

#[tokio::test]
async fn delete_is_refused_while_services_are_active_and_nothing_is_forced() {
    let (fx, ecs) = fixture().await;
    let props = json!({"Environment": "dev", "ClusterName": "busy"});
    assert_eq!(
        fx.send(fx.events.create(CLUSTER, "Cluster", props.clone()))
            .await
            .status(),
        "SUCCESS"
    );
    for service in ["checkout", "search"] {
        ecs.create_service()
            .cluster("busy")
            .service_name(service)
            .desired_count(1)
            .send()
            .await
            .expect("service");
    }
    let put = fx
        .send(fx.events.delete(CLUSTER, "Cluster", "busy", props.clone()))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert_eq!(put.physical_id(), "busy");
    assert!(
        put.reason()
            .contains("still has active services: checkout, search"),
        "{}",
        put.reason()
    );
    assert!(
        cluster(&ecs, "busy").await.is_some(),
        "the cluster is untouched"
    );
    assert_eq!(
        ecs.describe_services()
            .cluster("busy")
            .services("checkout")
            .send()
            .await
            .expect("d")
            .services()[0]
            .status(),
        Some("ACTIVE")
    );

    for service in ["checkout", "search"] {
        ecs.update_service()
            .cluster("busy")
            .service(service)
            .desired_count(0)
            .send()
            .await
            .expect("scale");
        ecs.delete_service()
            .cluster("busy")
            .service(service)
            .send()
            .await
            .expect("delete");
    }
    let put = fx
        .send(fx.events.delete(CLUSTER, "Cluster", "busy", props))
        .await;
    assert_eq!(put.status(), "SUCCESS", "{}", put.reason());
    assert!(cluster(&ecs, "busy").await.is_none());
}

#[tokio::test]
async fn bad_input_fails_names_the_property_and_creates_nothing() {
    let (fx, ecs) = fixture().await;
    let cases = [
        (
            json!({"Environment": "dev", "ClusterName": "a", "ContainerInsights": "sometimes"}),
            "ContainerInsights must be one of disabled, enabled, enhanced",
        ),
        (
            json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": -1}]}),
            "DefaultCapacityProviderStrategy[0].Weight must be between 0 and 1000, got -1",
        ),
        (
            json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Base": -5}]}),
            "DefaultCapacityProviderStrategy[0].Base must be between 0 and 100000, got -5",
        ),
        (
            json!({"Environment": "dev", "ClusterName": "a", "CapacityProviders": ["EC2_ASG"]}),
            "CapacityProviders must be one of FARGATE, FARGATE_SPOT, got \"EC2_ASG\"",
        ),
        (
            json!({"Environment": "dev", "ClusterName": ""}),
            "ClusterName must not be empty",
        ),
        (
            json!({"Environment": "prod", "ClusterName": "a", "ExecuteCommandLogGroupName": "/ecs/exec"}),
            "ExecuteCommandLogGroupName is only allowed with ExecuteCommand: true",
        ),
    ];
    for (props, expected) in cases {
        let put = fx.send(fx.events.create(CLUSTER, "Cluster", props)).await;
        assert_eq!(put.status(), "FAILED");
        assert!(
            put.reason().starts_with("Custom::EcsCluster: "),
            "{}",
            put.reason()
        );
        assert!(
            put.reason().contains(expected),
            "{} does not contain {expected}",
            put.reason()
        );
    }
    assert!(
        ecs.list_clusters()
            .send()
            .await
            .expect("list")
            .cluster_arns()
            .is_empty(),
        "no cluster for bad input"
    );
}

#[tokio::test]
async fn a_repeated_create_adopts_its_own_cluster_and_never_a_foreign_one() {
    let (fx, ecs) = fixture().await;
    let (event, request_id) = fx.events.create(
        CLUSTER,
        "Cluster",
        json!({"Environment": "dev", "ClusterName": "twice"}),
    );
    for _ in 0..2 {
        let _ = e2e::invoke_in_process(&fx.provider, event.clone(), common::TIMEOUT).await;
    }
    let puts = fx.listener.puts(&request_id);
    assert!(
        puts.iter()
            .all(|p| p.status() == "SUCCESS" && p.physical_id() == "twice"),
        "{puts:?}"
    );
    assert_eq!(
        ecs.list_clusters()
            .send()
            .await
            .expect("list")
            .cluster_arns()
            .len(),
        1
    );

    ecs.create_cluster()
        .cluster_name("theirs")
        .send()
        .await
        .expect("create");
    let put = fx
        .send(fx.events.create(
            CLUSTER,
            "Other",
            json!({"Environment": "dev", "ClusterName": "theirs"}),
        ))
        .await;
    assert_eq!(put.status(), "FAILED");
    assert!(
        put.reason()
            .contains("already exists and was not created by this stack's request"),
        "{}",
        put.reason()
    );
    assert_eq!(
        setting(&cluster(&ecs, "theirs").await.expect("still there")),
        Some("disabled"),
        "untouched"
    );
}

#[tokio::test]
async fn the_sample_events_drive_a_whole_lifecycle() {
    let (fx, ecs) = fixture().await;
    fx.replay_samples(
        "ecs-provider",
        &[
            "cluster-create.json",
            "cluster-update.json",
            "cluster-replace.json",
            "cluster-delete.json",
        ],
    )
    .await;
    assert!(
        cluster(&ecs, "orders").await.is_some(),
        "replaced; its cleanup Delete is CloudFormation's"
    );
    assert!(cluster(&ecs, "orders-v2").await.is_none());
}
