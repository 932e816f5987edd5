//! Opt-in remediation: on ALARM, a new deployment of the ECS service the alarm names, when the
//! alarm, the function and the service itself all ask for it, at most once per transition.

use crate::{AlarmRouter, Remediation};
use shared::error::describe_aws_error;
use std::collections::HashMap;

pub const TAG_REMEDIATE: &str = "stackhand:remediate";
pub const TAG_ECS_CLUSTER: &str = "stackhand:ecs-cluster";
pub const TAG_ECS_SERVICE: &str = "stackhand:ecs-service";
pub const FORCE_NEW_DEPLOYMENT: &str = "ecs-force-new-deployment";
/// On a remediated service: the alarm transition (its state timestamp) that last forced a
/// deployment, so a retried delivery of the same event never deploys twice.
pub const TAG_REMEDIATED: &str = "stackhand:remediated";

impl AlarmRouter {
    /// Forces a new deployment of the service the alarm names, when the alarm asks for it, the
    /// function allows it, nothing `blocks` it (flapping, a deployment), and the service itself opts in (its tag
    /// `stackhand:remediate`, which the role's IAM condition also requires). At most once per
    /// alarm transition: the transition is recorded on the service before the deployment.
    pub(crate) async fn remediate(
        &self,
        tags: &HashMap<String, String>,
        blocked: Option<&str>,
        transition: &str,
    ) -> Option<Remediation> {
        if tags.get(TAG_REMEDIATE).map(String::as_str) != Some(FORCE_NEW_DEPLOYMENT) {
            return None;
        }
        let cluster = tags.get(TAG_ECS_CLUSTER).cloned().unwrap_or_default();
        let service = tags.get(TAG_ECS_SERVICE).cloned().unwrap_or_default();
        let mut remediation = Remediation {
            action: FORCE_NEW_DEPLOYMENT,
            cluster: cluster.clone(),
            service: service.clone(),
            done: false,
            detail: String::new(),
        };
        (remediation.done, remediation.detail) = if cluster.is_empty() || service.is_empty() {
            (
                false,
                format!(
                    "not done: the alarm needs the tags {TAG_ECS_CLUSTER} and {TAG_ECS_SERVICE}"
                ),
            )
        } else if !self.settings.remediation_enabled {
            (
                false,
                format!(
                    "not done: REMEDIATION_ENABLED is off (would force a new deployment of {service} in {cluster})"
                ),
            )
        } else if let Some(why) = blocked {
            (false, format!("not done: {why}"))
        } else {
            self.force_new_deployment(&cluster, &service, transition)
                .await
        };
        tracing::info!(
            cluster,
            service,
            done = remediation.done,
            detail = remediation.detail,
            "remediation"
        );
        Some(remediation)
    }

    async fn force_new_deployment(
        &self,
        cluster: &str,
        service: &str,
        transition: &str,
    ) -> (bool, String) {
        let failed = |what: &str, err: String| {
            (
                false,
                format!("failed to {what} {service} in {cluster}: {err}"),
            )
        };
        let described = match self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) => return failed("read service", describe_aws_error(&err)),
        };
        let Some(live) = described.services().first() else {
            return (
                false,
                format!("not done: no service {service} in cluster {cluster}"),
            );
        };
        let service_tags: HashMap<&str, &str> = live
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        if service_tags.get(TAG_REMEDIATE) != Some(&FORCE_NEW_DEPLOYMENT) {
            return (
                false,
                format!(
                    "not done: service {service} in cluster {cluster} does not opt in (tag it {TAG_REMEDIATE}={FORCE_NEW_DEPLOYMENT})"
                ),
            );
        }
        if service_tags.get(TAG_REMEDIATED) == Some(&transition) {
            return (
                true,
                format!(
                    "already forced a new deployment of service {service} in cluster {cluster} for this alarm change (a repeated delivery)"
                ),
            );
        }
        // Recorded first: a delivery retried after a failed Publish finds it and deploys nothing.
        let arn = live.service_arn().unwrap_or_default();
        let recorded = self
            .ecs
            .tag_resource()
            .resource_arn(arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(TAG_REMEDIATED)
                    .value(transition)
                    .build(),
            )
            .send()
            .await;
        if let Err(err) = recorded {
            return failed("record the remediation on", describe_aws_error(&err));
        }
        match self
            .ecs
            .update_service()
            .cluster(cluster)
            .service(service)
            .force_new_deployment(true)
            .send()
            .await
        {
            Ok(_) => (
                true,
                format!("forced a new deployment of service {service} in cluster {cluster}"),
            ),
            Err(err) => failed("force a new deployment of", describe_aws_error(&err)),
        }
    }
}
