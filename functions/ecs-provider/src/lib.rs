//! ecs-provider: `Custom::EcsCluster`, a Fargate cluster whose Container Insights, capacity
//! strategy, ECS Exec and Service Connect defaults come from the environment profile.

pub mod cluster;

use aws_config::SdkConfig;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterField,
    ClusterServiceConnectDefaultsRequest, ClusterSetting, ClusterSettingName,
    ExecuteCommandConfiguration, ExecuteCommandLogConfiguration, ExecuteCommandLogging, Tag,
};
use cluster::{ATTRIBUTES, ClusterProps, TYPE};
use shared::cfn::{Created, Named, NamedResource, Outcome, Provider, Request, serve};
use shared::props::removed_tag_keys;
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
    live: &Cluster,
    new: &ClusterProps,
) -> Result<Option<ClusterServiceConnectDefaultsRequest>, ResourceError> {
    let has_defaults = live
        .service_connect_defaults()
        .and_then(|d| d.namespace())
        .is_some_and(|ns| !ns.is_empty());
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

fn outcome(props: &ClusterProps, cluster: &Cluster) -> Outcome {
    let [arn, name, namespace, exec] = ATTRIBUTES;
    Outcome::new(&props.cluster_name)
        .with(arn, cluster.cluster_arn().unwrap_or_default())
        .with(name, &props.cluster_name)
        .with(
            namespace,
            cluster
                .service_connect_defaults()
                .and_then(|d| d.namespace())
                .unwrap_or_default(),
        )
        .with(exec, props.execute_command.to_string())
}

impl EcsClusters {
    pub fn new(ecs: Client) -> Self {
        EcsClusters { ecs }
    }

    async fn update_tags(
        &self,
        arn: &str,
        old: Option<&ClusterProps>,
        new: &ClusterProps,
    ) -> Result<(), ResourceError> {
        if old.is_some_and(|old| old.tags == new.tags) {
            return Ok(());
        }
        let removed = removed_tag_keys(old.map(|o| o.tags.as_slice()), &new.tags);
        if !removed.is_empty() {
            self.ecs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
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
    type Live = Cluster;

    fn decode(props: &mut Props) -> Result<ClusterProps, PropertyError> {
        cluster::decode(props)
    }

    fn name(props: &ClusterProps) -> &str {
        &props.cluster_name
    }

    /// The ACTIVE cluster of that name, with its tags; INACTIVE ones are history.
    async fn describe(&self, name: &str) -> Result<Option<Cluster>, ResourceError> {
        let out = self
            .ecs
            .describe_clusters()
            .clusters(name)
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| aws("DescribeClusters", name, &e))?;
        Ok(out
            .clusters()
            .iter()
            .find(|c| c.cluster_name() == Some(name) && c.status() == Some("ACTIVE"))
            .cloned())
    }

    async fn owner_tags(&self, live: &Cluster) -> Result<BTreeMap<String, String>, ResourceError> {
        Ok(live
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    /// Looks first: a real CreateCluster on a taken name returns that cluster instead of failing.
    async fn create(
        &self,
        request: &Request,
        props: &ClusterProps,
    ) -> Result<Created<Cluster>, ResourceError> {
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
        Ok(Created::New(outcome(props, cluster)))
    }

    /// Settings, configuration and Service Connect; then capacity providers and strategy when
    /// they differ; then tags.
    async fn reconcile(
        &self,
        live: &Cluster,
        old: Option<&ClusterProps>,
        new: &ClusterProps,
    ) -> Result<Outcome, ResourceError> {
        let name = new.cluster_name.as_str();
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
        let live_strategy: Vec<(&str, i32, i32)> = live
            .default_capacity_provider_strategy()
            .iter()
            .map(|l| (l.capacity_provider(), l.weight(), l.base()))
            .collect();
        let wanted_strategy: Vec<(&str, i32, i32)> = new
            .strategy
            .iter()
            .map(|p| (p.capacity_provider.as_str(), p.weight, p.base))
            .collect();
        if live.capacity_providers() != new.capacity_providers.as_slice()
            || live_strategy != wanted_strategy
        {
            self.ecs
                .put_cluster_capacity_providers()
                .cluster(name)
                .set_capacity_providers(Some(new.capacity_providers.clone()))
                .set_default_capacity_provider_strategy(Some(strategy(new)?))
                .send()
                .await
                .map_err(|e| aws("PutClusterCapacityProviders", name, &e))?;
        }
        self.update_tags(live.cluster_arn().unwrap_or_default(), old, new)
            .await?;
        Ok(outcome(new, updated.cluster().unwrap_or(live)))
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

pub struct EcsProvider {
    clusters: Named<EcsClusters>,
}

impl EcsProvider {
    /// Builds the client once per process.
    pub fn new(config: &SdkConfig) -> Self {
        EcsProvider {
            clusters: Named(EcsClusters::new(Client::new(config))),
        }
    }
}

impl Provider for EcsProvider {
    const NAME: &'static str = "ecs-provider";
    const RESOURCE_TYPES: &'static [&'static str] = &[EcsClusters::RESOURCE_TYPE];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        match request.resource_type.as_str() {
            EcsClusters::RESOURCE_TYPE => serve(&self.clusters, request).await,
            _ => Err(ResourceError::unsupported::<Self>(request)),
        }
    }
}
