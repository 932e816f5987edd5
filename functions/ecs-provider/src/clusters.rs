//! The ECS calls of `Custom::EcsCluster`: read the live cluster, create it, apply a plan
//! (`cluster::plan`), delete it only without active services.

use crate::cluster::{self, ATTRIBUTES, ClusterProps, LiveCluster, Step, StrategyItem, TYPE};
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterField,
    ClusterServiceConnectDefaultsRequest, ClusterSetting, ClusterSettingName,
    ExecuteCommandConfiguration, ExecuteCommandLogConfiguration, ExecuteCommandLogging, Tag,
};
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request};
use shared::plan::Plan;
use shared::{PropertyError, Props, ResourceError};
use std::collections::BTreeMap;

/// DescribeServices takes at most this many services per call.
const DESCRIBE_SERVICES_BATCH: usize = 10;

pub struct EcsClusters {
    ecs: Client,
}

fn aws<E>(operation: &'static str, target: &str, err: &E) -> ResourceError
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    ResourceError::aws(TYPE, operation, target, err)
}

fn settings(props: &ClusterProps) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(&props.container_insights)
        .build()
}

/// ECS Exec's cluster-level part: where sessions are logged and which key encrypts them.
/// With Exec off, session logging is NONE and services should not enable it.
fn configuration(props: &ClusterProps) -> ClusterConfiguration {
    let exec = if props.execute_command {
        let logging = if props.execute_command_log_group.is_some() {
            ExecuteCommandLogging::Override
        } else {
            ExecuteCommandLogging::Default
        };
        ExecuteCommandConfiguration::builder()
            .set_kms_key_id(props.execute_command_kms_key_arn.clone())
            .logging(logging)
            .set_log_configuration(props.execute_command_log_group.as_ref().map(|group| {
                ExecuteCommandLogConfiguration::builder()
                    .cloud_watch_log_group_name(group)
                    .cloud_watch_encryption_enabled(props.execute_command_kms_key_arn.is_some())
                    .build()
            }))
            .build()
    } else {
        ExecuteCommandConfiguration::builder()
            .logging(ExecuteCommandLogging::None)
            .build()
    };
    ClusterConfiguration::builder()
        .execute_command_configuration(exec)
        .build()
}

fn strategy(props: &ClusterProps) -> Result<Vec<CapacityProviderStrategyItem>, ResourceError> {
    props
        .strategy
        .iter()
        .map(|item| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&item.capacity_provider)
                .weight(item.weight)
                .base(item.base)
                .build()
                .map_err(|e| {
                    ResourceError::refused(TYPE, format!("DefaultCapacityProviderStrategy: {e}"))
                })
        })
        .collect()
}

fn service_connect(
    props: &ClusterProps,
) -> Result<Option<ClusterServiceConnectDefaultsRequest>, ResourceError> {
    namespace_request(props.service_connect_namespace.as_deref())
}

/// On Update, a cluster whose new properties drop its namespace gets `""`: UpdateCluster removes
/// the Service Connect defaults for an empty namespace and keeps them when the field is absent.
fn service_connect_change(
    live: &LiveCluster,
    new: &ClusterProps,
) -> Result<Option<ClusterServiceConnectDefaultsRequest>, ResourceError> {
    let has_defaults = live.namespace.as_deref().is_some_and(|ns| !ns.is_empty());
    match new.service_connect_namespace.as_deref() {
        None if has_defaults => namespace_request(Some("")),
        wanted => namespace_request(wanted),
    }
}

fn namespace_request(
    namespace: Option<&str>,
) -> Result<Option<ClusterServiceConnectDefaultsRequest>, ResourceError> {
    namespace
        .map(|ns| {
            ClusterServiceConnectDefaultsRequest::builder()
                .namespace(ns)
                .build()
                .map_err(|e| ResourceError::refused(TYPE, format!("ServiceConnectNamespace: {e}")))
        })
        .transpose()
}

fn outcome(props: &ClusterProps, live: &LiveCluster) -> Outcome {
    let [arn, name, namespace, exec, cost] = ATTRIBUTES;
    // A cluster has no monthly charge: its tasks and Container Insights are usage.
    Outcome::new(&props.cluster_name)
        .with(arn, &live.arn)
        .with(name, &props.cluster_name)
        .with(namespace, live.namespace.as_deref().unwrap_or_default())
        .with(exec, props.execute_command.to_string())
        .with(
            cost,
            shared::cost::Billed::NONE.attribute(shared::cost::Prices::from_env()),
        )
}

/// What DescribeClusters (or CreateCluster, UpdateCluster) says, in the plan's terms.
fn live_cluster(cluster: &Cluster) -> LiveCluster {
    let exec = cluster
        .configuration()
        .and_then(|c| c.execute_command_configuration());
    LiveCluster {
        name: cluster.cluster_name().unwrap_or_default().to_owned(),
        arn: cluster.cluster_arn().unwrap_or_default().to_owned(),
        container_insights: cluster
            .settings()
            .iter()
            .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
            .and_then(|s| s.value().map(str::to_owned)),
        exec_logging: exec
            .and_then(|e| e.logging())
            .map(|l| l.as_str().to_owned()),
        exec_kms_key: exec.and_then(|e| e.kms_key_id().map(str::to_owned)),
        exec_log_group: exec
            .and_then(|e| e.log_configuration())
            .and_then(|l| l.cloud_watch_log_group_name().map(str::to_owned)),
        namespace: cluster
            .service_connect_defaults()
            .and_then(|d| d.namespace())
            .filter(|ns| !ns.is_empty())
            .map(str::to_owned),
        capacity_providers: cluster.capacity_providers().to_vec(),
        strategy: cluster
            .default_capacity_provider_strategy()
            .iter()
            .map(|item| StrategyItem {
                capacity_provider: item.capacity_provider().to_owned(),
                weight: item.weight(),
                base: item.base(),
            })
            .collect(),
        tags: cluster
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    }
}

impl EcsClusters {
    pub fn new(ecs: Client) -> Self {
        EcsClusters { ecs }
    }

    /// Performs a plan's steps: one UpdateCluster, one PutClusterCapacityProviders, the tags.
    async fn apply(
        &self,
        live: &LiveCluster,
        new: &ClusterProps,
        plan: &Plan<Step>,
    ) -> Result<LiveCluster, ResourceError> {
        let name = new.cluster_name.as_str();
        let mut now = live.clone();
        if plan.needs(&Step::UpdateCluster) {
            let updated = self
                .ecs
                .update_cluster()
                .cluster(name)
                .settings(settings(new))
                .configuration(configuration(new))
                .set_service_connect_defaults(service_connect_change(live, new)?)
                .send()
                .await
                .map_err(|e| aws("UpdateCluster", name, &e))?;
            if let Some(cluster) = updated.cluster() {
                now.namespace = live_cluster(cluster).namespace;
            }
        }
        if plan.needs(&Step::CapacityProviders) {
            self.ecs
                .put_cluster_capacity_providers()
                .cluster(name)
                .set_capacity_providers(Some(new.capacity_providers.clone()))
                .set_default_capacity_provider_strategy(Some(strategy(new)?))
                .send()
                .await
                .map_err(|e| aws("PutClusterCapacityProviders", name, &e))?;
        }
        for change in &plan.changes {
            if let Step::Tags(removed) = &change.step {
                self.replace_tags(&live.arn, removed, new).await?;
            }
        }
        Ok(now)
    }

    async fn replace_tags(
        &self,
        arn: &str,
        removed: &[String],
        new: &ClusterProps,
    ) -> Result<(), ResourceError> {
        if !removed.is_empty() {
            self.ecs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed.to_vec()))
                .send()
                .await
                .map_err(|e| aws("UntagResource", arn, &e))?;
        }
        if !new.tags.is_empty() {
            let tags = new
                .tags
                .iter()
                .map(|t| Tag::builder().key(&t.key).value(&t.value).build())
                .collect();
            self.ecs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| aws("TagResource", arn, &e))?;
        }
        Ok(())
    }

    /// Names of the services still ACTIVE or DRAINING in the cluster.
    async fn active_services(&self, name: &str) -> Result<Vec<String>, ResourceError> {
        let arns: Vec<String> = self
            .ecs
            .list_services()
            .cluster(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| aws("ListServices", name, &e))?;
        let mut active = Vec::new();
        for batch in arns.chunks(DESCRIBE_SERVICES_BATCH) {
            let described = self
                .ecs
                .describe_services()
                .cluster(name)
                .set_services(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| aws("DescribeServices", name, &e))?;
            active.extend(
                described
                    .services()
                    .iter()
                    .filter(|s| matches!(s.status(), Some("ACTIVE" | "DRAINING")))
                    .filter_map(|s| s.service_name().map(str::to_owned)),
            );
        }
        Ok(active)
    }
}

impl NamedResource for EcsClusters {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "ClusterName";
    type Properties = ClusterProps;
    type Live = LiveCluster;

    fn decode(props: &mut Props) -> Result<ClusterProps, PropertyError> {
        cluster::decode(props)
    }

    fn name(props: &ClusterProps) -> &str {
        &props.cluster_name
    }

    /// The ACTIVE cluster of that name, with its tags, settings and configuration; INACTIVE
    /// ones are history.
    async fn describe(&self, name: &str) -> Result<Option<LiveCluster>, ResourceError> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(name)
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .send()
            .await
            .map_err(|e| aws("DescribeClusters", name, &e))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(name) && c.status() == Some("ACTIVE"))
            .map(live_cluster))
    }

    async fn owner_tags(
        &self,
        live: &LiveCluster,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        Ok(live.tags.clone())
    }

    /// Looks first: a real CreateCluster on a taken name returns that cluster instead of failing.
    async fn create(
        &self,
        request: &Request,
        props: &ClusterProps,
    ) -> Result<Created<LiveCluster>, ResourceError> {
        let name = props.cluster_name.as_str();
        if let Some(existing) = self.describe(name).await? {
            return Ok(Created::Exists(existing));
        }
        let tags: Vec<Tag> = request
            .resource_tags(&props.tags, props.environment)
            .into_iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect();
        let created = self
            .ecs
            .create_cluster()
            .cluster_name(name)
            .settings(settings(props))
            .configuration(configuration(props))
            .set_capacity_providers(Some(props.capacity_providers.clone()))
            .set_default_capacity_provider_strategy(Some(strategy(props)?))
            .set_service_connect_defaults(service_connect(props)?)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws("CreateCluster", name, &e))?;
        let cluster = created.cluster().ok_or_else(|| {
            ResourceError::refused(
                TYPE,
                format!("CreateCluster for {name} returned no cluster"),
            )
        })?;
        Ok(Created::New(outcome(props, &live_cluster(cluster))))
    }

    /// The plan against the live cluster, then its steps.
    async fn reconcile(
        &self,
        live: &LiveCluster,
        old: Option<&ClusterProps>,
        new: &ClusterProps,
    ) -> Result<Outcome, ResourceError> {
        let plan = cluster::plan(live, new, old);
        if !plan.is_empty() {
            tracing::info!(cluster = %new.cluster_name, changes = ?plan.properties(), "updating");
        }
        let now = self.apply(live, new, &plan).await?;
        Ok(outcome(new, &now))
    }

    async fn drift(
        &self,
        live: &LiveCluster,
        _owner_tags: &BTreeMap<String, String>,
        props: &ClusterProps,
    ) -> Result<Drift, ResourceError> {
        Ok(Drift::of(&cluster::plan(live, props, Some(props))))
    }

    async fn delete(&self, name: &str, _props: &ClusterProps) -> Result<(), ResourceError> {
        if self.describe(name).await?.is_none() {
            tracing::info!(cluster = name, "already gone");
            return Ok(());
        }
        let active = self.active_services(name).await?;
        if !active.is_empty() {
            return Err(ResourceError::refused(
                TYPE,
                format!(
                    "cluster {name} still has active services: {}; delete them or scale them to 0 and remove them first (nothing was forced)",
                    active.join(", ")
                ),
            ));
        }
        shared::error::deleted(
            self.ecs.delete_cluster().cluster(name).send().await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_cluster_not_found_exception())
            },
            TYPE,
            "DeleteCluster",
            name,
        )
    }
}
