use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use shared::cfn::decode_properties;
use shared::test_support::any_json;

fn decode_json(value: Value) -> Result<ClusterProps, PropertyError> {
    decode_properties::<shared::cfn::Named<crate::EcsClusters>>(&value)
}

fn reason(value: Value) -> String {
    decode_json(value).expect_err("must fail").to_string()
}

#[test]
fn dev_uses_spot_exec_and_no_service_connect() {
    let props = decode_json(json!({"Environment": "dev", "ClusterName": "apps"})).expect("valid");
    assert_eq!(props.container_insights, "enabled");
    assert_eq!(props.capacity_providers, ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(
        props.strategy,
        [StrategyItem {
            capacity_provider: "FARGATE_SPOT".into(),
            weight: 1,
            base: 0
        }]
    );
    assert!(props.execute_command);
    assert_eq!(props.service_connect_namespace, None);
}

#[test]
fn uat_mixes_fargate_base_1_with_spot_and_turns_on_service_connect() {
    let props = decode_json(json!({"Environment": "uat", "ClusterName": "apps"})).expect("valid");
    let shape: Vec<(&str, i32, i32)> = props
        .strategy
        .iter()
        .map(|s| (s.capacity_provider.as_str(), s.weight, s.base))
        .collect();
    assert_eq!(shape, [("FARGATE", 1, 1), ("FARGATE_SPOT", 1, 0)]);
    assert!(!props.execute_command);
    assert_eq!(
        props.service_connect_namespace.as_deref(),
        Some("apps.internal")
    );
}

#[test]
fn prod_runs_fargate_base_2() {
    let props = decode_json(json!({"Environment": "prod", "ClusterName": "apps"})).expect("valid");
    assert_eq!(props.strategy.len(), 1);
    assert_eq!(
        (
            props.strategy[0].capacity_provider.as_str(),
            props.strategy[0].base
        ),
        ("FARGATE", 2)
    );
    assert!(!props.execute_command);
}

#[test]
fn explicit_properties_win() {
    let props = decode_json(json!({
        "Environment": "prod", "ClusterName": "apps", "ContainerInsights": "enhanced",
        "ExecuteCommand": "true", "ExecuteCommandLogGroupName": "/ecs/exec",
        "ExecuteCommandKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
        "ServiceConnectNamespace": "shop.local",
        "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "3", "Base": "0"}]
    }))
    .expect("valid");
    assert_eq!(props.container_insights, "enhanced");
    assert!(props.execute_command);
    assert_eq!(
        props.service_connect_namespace.as_deref(),
        Some("shop.local")
    );
    assert_eq!(props.strategy[0].weight, 3);
}

#[test]
fn bad_input_names_the_property() {
    assert_eq!(
        reason(json!({"Environment": "dev", "ClusterName": "a", "ContainerInsights": "on"})),
        "Custom::EcsCluster: ContainerInsights must be one of disabled, enabled, enhanced, got \"on\""
    );
    assert_eq!(
        reason(
            json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": -1}]})
        ),
        "Custom::EcsCluster: DefaultCapacityProviderStrategy[0].Weight must be between 0 and 1000, got -1"
    );
    assert_eq!(
        reason(
            json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Base": "-2"}]})
        ),
        "Custom::EcsCluster: DefaultCapacityProviderStrategy[0].Base must be between 0 and 100000, got -2"
    );
    assert_eq!(
        reason(
            json!({"Environment": "dev", "ClusterName": "a", "CapacityProviders": ["FARGATE", "EC2_BIG"]})
        ),
        "Custom::EcsCluster: CapacityProviders must be one of FARGATE, FARGATE_SPOT, got \"EC2_BIG\""
    );
    assert_eq!(
        reason(json!({"Environment": "dev", "ClusterName": ""})),
        "Custom::EcsCluster: ClusterName must not be empty, got \"\""
    );
    assert_eq!(
        reason(
            json!({"Environment": "uat", "ClusterName": "a", "ExecuteCommandLogGroupName": "/ecs/exec"})
        ),
        "Custom::EcsCluster: ExecuteCommandLogGroupName is only allowed with ExecuteCommand: true (ECS Exec is off by default in uat)"
    );
    assert_eq!(
        reason(
            json!({"Environment": "dev", "ClusterName": "a", "ExecuteCommand": false, "ExecuteCommandKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"})
        ),
        "Custom::EcsCluster: ExecuteCommandKmsKeyArn is only allowed with ExecuteCommand: true"
    );
    assert!(
        reason(json!({"Environment": "dev", "ClusterName": "has space"}))
            .contains("ClusterName must be 1 to 255")
    );
    assert!(reason(json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 1, "Colour": 1}]}))
        .starts_with("Custom::EcsCluster: DefaultCapacityProviderStrategy[0].Colour is not a known property"));
}

#[test]
fn a_capacity_provider_named_twice_is_refused_even_apart() {
    let twice = reason(json!({"Environment": "dev", "ClusterName": "orders",
        "CapacityProviders": ["FARGATE", "FARGATE_SPOT", "FARGATE"]}));
    assert!(
        twice.contains("CapacityProviders must name each capacity provider once"),
        "{twice}"
    );
}

#[test]
fn the_strategy_must_fit_the_capacity_providers() {
    let err =
        reason(json!({"Environment": "dev", "ClusterName": "a", "CapacityProviders": ["FARGATE"]}));
    assert_eq!(
        err,
        "Custom::EcsCluster: DefaultCapacityProviderStrategy may only use the cluster's CapacityProviders (FARGATE), got FARGATE_SPOT"
    );
    let err = reason(
        json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [
        {"CapacityProvider": "FARGATE", "Base": 1}, {"CapacityProvider": "FARGATE_SPOT", "Base": 1}]}),
    );
    assert!(
        err.contains("may give a Base to one capacity provider only"),
        "{err}"
    );
    let err = reason(
        json!({"Environment": "dev", "ClusterName": "a", "DefaultCapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Weight": 0}]}),
    );
    assert!(err.contains("needs a Weight above 0"), "{err}");
}

proptest! {
    #[test]
    fn any_json_in_any_property_decodes_or_names_itself(
        value in any_json(),
        field in proptest::sample::select(vec!["Environment", "ClusterName", "ContainerInsights", "CapacityProviders", "DefaultCapacityProviderStrategy", "ExecuteCommand", "ExecuteCommandKmsKeyArn", "ExecuteCommandLogGroupName", "ServiceConnectNamespace", "Tags"]),
    ) {
        let base = json!({"Environment": "dev", "ClusterName": "a"});
        shared::test_support::decodes_or_names_itself::<shared::cfn::Named<crate::EcsClusters>>(&base, field, value)?;
    }
}
