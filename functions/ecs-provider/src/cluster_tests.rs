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

/// The live cluster that is exactly what `props` asks for, as ECS would report it.
fn in_step(props: &ClusterProps) -> LiveCluster {
    LiveCluster {
        name: props.cluster_name.clone(),
        arn: format!(
            "arn:aws:ecs:us-east-1:123456789012:cluster/{}",
            props.cluster_name
        ),
        container_insights: Some(props.container_insights.clone()),
        exec_logging: Some(exec_logging(props).to_owned()),
        exec_kms_key: props.execute_command_kms_key_arn.clone(),
        exec_log_group: props.execute_command_log_group.clone(),
        namespace: props.service_connect_namespace.clone(),
        capacity_providers: props.capacity_providers.clone(),
        strategy: props.strategy.clone(),
        tags: props
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .chain([("stackhand:stack-id".to_owned(), "arn:stack".to_owned())])
            .collect(),
    }
}

fn env(environment: &str) -> ClusterProps {
    decode_json(json!({"Environment": environment, "ClusterName": "apps", "Tags": [{"Key": "team", "Value": "platform"}]}))
        .expect("valid")
}

#[test]
fn a_cluster_in_step_plans_nothing() {
    for environment in ["dev", "qa", "uat", "prod"] {
        let props = env(environment);
        assert!(
            plan(&in_step(&props), &props, Some(&props)).is_empty(),
            "{environment}"
        );
    }
}

#[test]
fn prod_to_dev_plans_exec_service_connect_and_capacity_in_two_calls() {
    let (prod, dev) = (env("prod"), env("dev"));
    let plan = plan(&in_step(&prod), &dev, Some(&prod));
    assert_eq!(
        plan.properties(),
        [
            "ExecuteCommand",
            "ServiceConnectNamespace",
            "DefaultCapacityProviderStrategy"
        ]
    );
    let namespace = &plan.changes[1];
    assert_eq!(
        (namespace.live.as_str(), namespace.desired.as_str()),
        ("apps.internal", "(none)")
    );
    assert!(plan.needs(&Step::UpdateCluster) && plan.needs(&Step::CapacityProviders));
}

#[test]
fn the_namespace_arn_ecs_reports_is_the_name_the_properties_gave_before() {
    let prod = env("prod");
    let mut live = in_step(&prod);
    live.namespace =
        Some("arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abc".to_owned());
    assert!(plan(&live, &prod, Some(&prod)).is_empty());
    // Without the previous properties the name cannot be matched to the ARN: it is sent again.
    assert_eq!(
        plan(&live, &prod, None).properties(),
        ["ServiceConnectNamespace"]
    );
}

#[test]
fn tags_changed_by_hand_are_planned_back_and_owner_records_are_never_touched() {
    let props = env("dev");
    let mut live = in_step(&props);
    live.tags.insert("added-by-hand".to_owned(), "x".to_owned());
    live.tags
        .insert("team".to_owned(), "someone-else".to_owned());
    let plan = plan(&live, &props, Some(&props));
    assert_eq!(plan.properties(), ["Tags"]);
    assert_eq!(
        plan.changes[0].step,
        Step::Tags(vec!["added-by-hand".to_owned()])
    );
    assert_eq!(plan.changes[0].live, "added-by-hand=x, team=someone-else");
    assert_eq!(plan.changes[0].desired, "team=platform");
}

#[test]
fn insights_turned_off_by_hand_is_one_update_cluster() {
    let props = env("uat");
    let mut live = in_step(&props);
    live.container_insights = Some("disabled".to_owned());
    let plan = plan(&live, &props, Some(&props));
    assert_eq!(plan.properties(), ["ContainerInsights"]);
    assert_eq!(plan.changes[0].step, Step::UpdateCluster);
}
