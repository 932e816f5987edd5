//! `Custom::EcsCluster` properties: decoded, validated, and resolved against the environment
//! profile, so the rest of the provider works only with final values; and the plan of an Update
//! against the live cluster. Pure: the ECS calls are in `clusters.rs`.

use shared::plan::{Plan, shown, tag_change};
use shared::props::{KMS_KEY_ARN_RULE, LOG_GROUP_NAME_RULE, is_kms_key_arn, is_log_group_name};
use shared::{Environment, Problem, PropertyError, Props, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::EcsCluster";

/// The attributes every successful Create and Update returns (`Fn::GetAtt`).
pub const ATTRIBUTES: [&str; 5] = [
    "ClusterArn",
    "ClusterName",
    "ServiceConnectNamespaceArn",
    "ExecuteCommandEnabled",
    shared::cost::ATTRIBUTE,
];

pub const CONTAINER_INSIGHTS: [&str; 3] = ["disabled", "enabled", "enhanced"];
pub const CAPACITY_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];
const MAX_WEIGHT: i64 = 1000;
const MAX_BASE: i64 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyItem {
    pub capacity_provider: String,
    pub weight: i32,
    pub base: i32,
}

/// Final values: explicit properties, or the profile's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterProps {
    pub environment: Environment,
    pub cluster_name: String,
    pub container_insights: String,
    pub capacity_providers: Vec<String>,
    pub strategy: Vec<StrategyItem>,
    pub execute_command: bool,
    pub execute_command_kms_key_arn: Option<String>,
    pub execute_command_log_group: Option<String>,
    pub service_connect_namespace: Option<String>,
    pub tags: Vec<Tag>,
}

fn is_cluster_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn decode_strategy(props: &mut Props) -> Result<Option<Vec<StrategyItem>>, PropertyError> {
    let Some(items) = props.optional_object_list("DefaultCapacityProviderStrategy")? else {
        return Ok(None);
    };
    let mut strategy = Vec::with_capacity(items.len());
    for mut item in items {
        let capacity_provider =
            match item.optional_choice("CapacityProvider", &CAPACITY_PROVIDERS)? {
                Some(provider) => provider.to_owned(),
                None => return Err(item.error("CapacityProvider", Problem::Missing)),
            };
        // Both bounds fit an i32.
        let weight = item.optional_int_in("Weight", 0, MAX_WEIGHT)?.unwrap_or(1) as i32;
        let base = item.optional_int_in("Base", 0, MAX_BASE)?.unwrap_or(0) as i32;
        item.finish()?;
        strategy.push(StrategyItem {
            capacity_provider,
            weight,
            base,
        });
    }
    Ok(Some(strategy))
}

fn check_strategy(
    props: &Props,
    strategy: &[StrategyItem],
    providers: &[String],
) -> Result<(), PropertyError> {
    const NAME: &str = "DefaultCapacityProviderStrategy";
    let invalid = |rule: &str, got: String| {
        props.error(
            NAME,
            Problem::Invalid {
                rule: rule.to_owned(),
                got,
            },
        )
    };
    if let Some(stray) = strategy
        .iter()
        .find(|s| !providers.contains(&s.capacity_provider))
    {
        return Err(invalid(
            &format!(
                "may only use the cluster's CapacityProviders ({})",
                providers.join(", ")
            ),
            stray.capacity_provider.clone(),
        ));
    }
    if strategy.iter().filter(|s| s.base > 0).count() > 1 {
        return Err(invalid(
            "may give a Base to one capacity provider only",
            "several".to_owned(),
        ));
    }
    if !strategy.is_empty() && strategy.iter().all(|s| s.weight == 0) {
        return Err(invalid(
            "needs a Weight above 0 on at least one entry",
            "all 0".to_owned(),
        ));
    }
    Ok(())
}

pub fn decode(props: &mut Props) -> Result<ClusterProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let profile = environment.profile();
    let cluster_name = props.required_valid_string(
        "ClusterName",
        "must be 1 to 255 letters, digits, hyphens and underscores",
        is_cluster_name,
    )?;
    let container_insights = props
        .optional_choice("ContainerInsights", &CONTAINER_INSIGHTS)?
        .unwrap_or(profile.container_insights)
        .to_owned();

    let capacity_providers = match props.optional_string_list("CapacityProviders")? {
        Some(list) => {
            if let Some(unknown) = list
                .iter()
                .find(|p| !CAPACITY_PROVIDERS.contains(&p.as_str()))
            {
                return Err(props.error(
                    "CapacityProviders",
                    Problem::NotOneOf {
                        allowed: CAPACITY_PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
                        got: format!("\"{unknown}\""),
                    },
                ));
            }
            let twice = list
                .iter()
                .enumerate()
                .find(|(i, p)| list[..*i].contains(p))
                .map(|(_, p)| p.clone());
            props.rule(
                twice.is_none(),
                "CapacityProviders",
                Problem::Invalid {
                    rule: "must name each capacity provider once".to_owned(),
                    got: format!("\"{}\" more than once", twice.unwrap_or_default()),
                },
            )?;
            let mut unique: Vec<String> = Vec::new();
            for provider in list {
                if !unique.contains(&provider) {
                    unique.push(provider);
                }
            }
            unique
        }
        None => CAPACITY_PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
    };
    let strategy = match decode_strategy(props)? {
        Some(strategy) => strategy,
        None => profile
            .capacity_strategy
            .iter()
            .map(|share| StrategyItem {
                capacity_provider: share.provider.to_owned(),
                weight: share.weight,
                base: share.base,
            })
            .collect(),
    };
    check_strategy(props, &strategy, &capacity_providers)?;

    let explicit_exec = props.optional_bool("ExecuteCommand")?;
    let execute_command = explicit_exec.unwrap_or(profile.ecs_exec);
    let execute_command_kms_key_arn =
        props.optional_valid_string("ExecuteCommandKmsKeyArn", KMS_KEY_ARN_RULE, is_kms_key_arn)?;
    let execute_command_log_group = props.optional_valid_string(
        "ExecuteCommandLogGroupName",
        LOG_GROUP_NAME_RULE,
        is_log_group_name,
    )?;
    if !execute_command {
        let why = match explicit_exec {
            Some(_) => "ExecuteCommand: true".to_owned(),
            None => format!("ExecuteCommand: true (ECS Exec is off by default in {environment})"),
        };
        for (name, value) in [
            ("ExecuteCommandKmsKeyArn", &execute_command_kms_key_arn),
            ("ExecuteCommandLogGroupName", &execute_command_log_group),
        ] {
            if value.is_some() {
                return Err(props.error(name, Problem::OnlyWith(why)));
            }
        }
    }

    let service_connect_namespace = props
        .optional_valid_string(
            "ServiceConnectNamespace",
            "must be a namespace name of 1 to 1024 characters or a Cloud Map namespace ARN",
            |ns| (1..=1024).contains(&ns.len()),
        )?
        .or_else(|| {
            profile
                .service_connect
                .then(|| format!("{cluster_name}.internal"))
        });
    let tags = props.tags()?;
    Ok(ClusterProps {
        environment,
        cluster_name,
        container_insights,
        capacity_providers,
        strategy,
        execute_command,
        execute_command_kms_key_arn,
        execute_command_log_group,
        service_connect_namespace,
        tags,
    })
}

/// The live cluster as far as the properties go, normalized from DescribeClusters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveCluster {
    pub name: String,
    pub arn: String,
    pub container_insights: Option<String>,
    /// `NONE`, `DEFAULT` or `OVERRIDE` (ECS Exec's session logging).
    pub exec_logging: Option<String>,
    pub exec_kms_key: Option<String>,
    pub exec_log_group: Option<String>,
    /// As ECS reports it: the namespace ARN on AWS.
    pub namespace: Option<String>,
    pub capacity_providers: Vec<String>,
    pub strategy: Vec<StrategyItem>,
    pub tags: BTreeMap<String, String>,
}

/// The calls that bring a live cluster in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// UpdateCluster: Container Insights, ECS Exec and the Service Connect defaults.
    UpdateCluster,
    /// PutClusterCapacityProviders: the providers and the default strategy.
    CapacityProviders,
    /// UntagResource of these keys, then TagResource with the properties' tags.
    Tags(Vec<String>),
}

/// ECS Exec's session logging for the properties: off is `NONE`.
pub fn exec_logging(props: &ClusterProps) -> &'static str {
    match (
        props.execute_command,
        props.execute_command_log_group.is_some(),
    ) {
        (false, _) => "NONE",
        (true, true) => "OVERRIDE",
        (true, false) => "DEFAULT",
    }
}

/// Whether the live namespace is the one the properties name. ECS reports the namespace's ARN
/// while the properties usually give its name; a name the previous properties gave too is the
/// namespace ECS already resolved.
fn namespace_in_step(live: Option<&str>, desired: Option<&str>, old: Option<&str>) -> bool {
    match (live.filter(|ns| !ns.is_empty()), desired) {
        (None, None) => true,
        (Some(live), Some(desired)) => {
            live == desired || (!desired.starts_with("arn:") && old == Some(desired))
        }
        _ => false,
    }
}

fn strategy_text(items: &[StrategyItem]) -> String {
    items
        .iter()
        .map(|i| {
            format!(
                "{} weight {} base {}",
                i.capacity_provider, i.weight, i.base
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an Update would change on `live` to match `desired` (`old`: the properties it was made
/// with, when known). The cluster name is the physical id: a new one is a replacement, which
/// the named lifecycle handles before any plan.
pub fn plan(live: &LiveCluster, desired: &ClusterProps, old: Option<&ClusterProps>) -> Plan<Step> {
    let mut plan = Plan::new();
    plan.compare(
        "ContainerInsights",
        shown(live.container_insights.as_deref()),
        desired.container_insights.as_str(),
        Step::UpdateCluster,
    );
    let live_exec = live.exec_logging.as_deref().unwrap_or("NONE") != "NONE";
    plan.compare(
        "ExecuteCommand",
        live_exec.to_string(),
        desired.execute_command.to_string(),
        Step::UpdateCluster,
    );
    if desired.execute_command {
        plan.compare(
            "ExecuteCommandKmsKeyArn",
            shown(live.exec_kms_key.as_deref()),
            shown(desired.execute_command_kms_key_arn.as_deref()),
            Step::UpdateCluster,
        );
        plan.compare(
            "ExecuteCommandLogGroupName",
            shown(live.exec_log_group.as_deref()),
            shown(desired.execute_command_log_group.as_deref()),
            Step::UpdateCluster,
        );
    }
    let desired_namespace = desired.service_connect_namespace.as_deref();
    let old_namespace = old.and_then(|o| o.service_connect_namespace.as_deref());
    if !namespace_in_step(live.namespace.as_deref(), desired_namespace, old_namespace) {
        plan.compare(
            "ServiceConnectNamespace",
            shown(live.namespace.as_deref()),
            shown(desired_namespace),
            Step::UpdateCluster,
        );
    }
    plan.compare(
        "CapacityProviders",
        live.capacity_providers.join(", "),
        desired.capacity_providers.join(", "),
        Step::CapacityProviders,
    );
    plan.compare(
        "DefaultCapacityProviderStrategy",
        strategy_text(&live.strategy),
        strategy_text(&desired.strategy),
        Step::CapacityProviders,
    );
    if let Some((live_tags, desired_tags, removed)) = tag_change(&live.tags, &desired.tags) {
        plan.compare("Tags", live_tags, desired_tags, Step::Tags(removed));
    }
    plan
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
