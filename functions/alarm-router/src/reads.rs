//! What the router reads from CloudWatch about an alarm. Every read may fail (a storm throttles
//! them); each answers `None` then, and none ever blocks a notification.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmMuteRuleStatus, HistoryItemType};
use aws_smithy_types::DateTime;
use shared::error::describe_aws_error;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The alarm's tags.
pub async fn tags(cloudwatch: &Client, arn: &str) -> Option<HashMap<String, String>> {
    match cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
    {
        Ok(out) => Some(
            out.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
        ),
        Err(err) => {
            tracing::warn!(alarm_arn = arn, error = %describe_aws_error(&err), "tags unreadable; an alarm without a severity line is treated as critical");
            None
        }
    }
}

/// State changes of the alarm in the last `window`.
pub async fn transitions(cloudwatch: &Client, alarm_name: &str, window: Duration) -> Option<usize> {
    let now = SystemTime::now();
    let start = now.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
    let history = cloudwatch
        .describe_alarm_history()
        .alarm_name(alarm_name)
        .history_item_type(HistoryItemType::StateUpdate)
        .start_date(DateTime::from(start))
        .end_date(DateTime::from(now))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    match history {
        Ok(items) => Some(items.len()),
        Err(err) => {
            tracing::warn!(alarm = alarm_name, error = %describe_aws_error(&err), "alarm history unknown; publishing anyway");
            None
        }
    }
}

/// The name of an alarm mute rule muting the alarm's actions now, if any. CloudWatch mutes the
/// alarm's own actions but still sends its state changes to EventBridge, so the router asks.
pub async fn active_mute_rule(cloudwatch: &Client, alarm_name: &str) -> Option<String> {
    let listed = cloudwatch
        .list_alarm_mute_rules()
        .alarm_name(alarm_name)
        .statuses(AlarmMuteRuleStatus::Active)
        .send()
        .await;
    match listed {
        Ok(out) => out
            .alarm_mute_rule_summaries()
            .iter()
            .filter_map(|rule| rule.alarm_mute_rule_arn())
            .map(mute_rule_name)
            .min()
            .map(str::to_owned),
        Err(err) => {
            tracing::warn!(alarm = alarm_name, error = %describe_aws_error(&err), "mute rules unknown; publishing anyway");
            None
        }
    }
}

/// What deployment, if any, the alarm's change may come from: its owning stack mid-deployment
/// (stackhand's `stackhand:stack-id` tag, or CloudFormation's own `aws:cloudformation:stack-id`),
/// or its ECS service rolling out (the `stackhand:ecs-*` tags, else the alarm's `ClusterName`
/// and `ServiceName` dimensions). A read that fails counts as no deployment: never a hold.
pub async fn deployment(
    cloudformation: &aws_sdk_cloudformation::Client,
    ecs: &aws_sdk_ecs::Client,
    tags: &HashMap<String, String>,
    dimensions: Option<&std::collections::BTreeMap<String, String>>,
) -> Option<String> {
    let stack = [shared::cfn::TAG_STACK_ID, "aws:cloudformation:stack-id"]
        .iter()
        .find_map(|key| tags.get(*key));
    if let Some(stack) = stack {
        match cloudformation
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
        {
            Ok(out) => {
                if let Some(found) = out.stacks().first() {
                    let status = found.stack_status().map(|s| s.as_str()).unwrap_or_default();
                    if is_deploying(status) {
                        return Some(format!(
                            "stack {} is {status}",
                            found.stack_name().unwrap_or(stack)
                        ));
                    }
                }
            }
            Err(err) => {
                tracing::warn!(stack, error = %describe_aws_error(&err), "stack status unknown; not holding");
            }
        }
    }
    let from_tags = tags
        .get(crate::TAG_ECS_CLUSTER)
        .zip(tags.get(crate::TAG_ECS_SERVICE));
    let from_dimensions = dimensions.and_then(|d| d.get("ClusterName").zip(d.get("ServiceName")));
    let (cluster, service) = from_tags.or(from_dimensions)?;
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await;
    match described {
        Ok(out) => {
            let rolling = out.services().first().is_some_and(|s| {
                s.deployments().len() > 1
                    || s.deployments().iter().any(|d| {
                        d.rollout_state()
                            == Some(&aws_sdk_ecs::types::DeploymentRolloutState::InProgress)
                    })
            });
            rolling.then(|| format!("ECS service {service} in {cluster} is deploying"))
        }
        Err(err) => {
            tracing::warn!(cluster, service, error = %describe_aws_error(&err), "service deployments unknown; not holding");
            None
        }
    }
}

/// The log group behind the alarm's metric, when a metric filter makes it (the baseline's error
/// filter, any user's): the first metric outside the `AWS/` namespaces, looked up with
/// DescribeMetricFilters. For the message's Logs Insights link; unknown is no link.
pub async fn log_group_of(
    logs: &aws_sdk_cloudwatchlogs::Client,
    metrics: &[crate::event::MetricEntry],
) -> Option<String> {
    let metric = metrics.iter().find_map(|entry| {
        let metric = &entry.metric_stat.as_ref()?.metric;
        let namespace = metric.namespace.as_deref()?;
        (!namespace.starts_with("AWS/")).then_some((namespace, metric.name.as_str()))
    })?;
    let (namespace, name) = metric;
    match logs
        .describe_metric_filters()
        .metric_namespace(namespace)
        .metric_name(name)
        .send()
        .await
    {
        Ok(out) => out
            .metric_filters()
            .iter()
            .find_map(|f| f.log_group_name().map(str::to_owned)),
        Err(err) => {
            tracing::warn!(namespace, metric = name, error = %describe_aws_error(&err), "metric filters unknown; no logs link");
            None
        }
    }
}

/// A stack status of a deployment under way (a change set in review is not one).
pub fn is_deploying(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// `arn:aws:cloudwatch:<region>:<account>:alarm-mute-rule:<name>` → `<name>`.
pub fn mute_rule_name(arn: &str) -> &str {
    arn.split_once(":alarm-mute-rule:")
        .map_or(arn, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mute_rules_name_is_the_end_of_its_arn() {
        assert_eq!(
            super::mute_rule_name(
                "arn:aws:cloudwatch:eu-west-1:123456789012:alarm-mute-rule:nightly:backup"
            ),
            "nightly:backup"
        );
        assert_eq!(super::mute_rule_name("odd"), "odd");
    }

    #[test]
    fn a_stack_is_deploying_while_its_status_is_in_progress() {
        for status in [
            "CREATE_IN_PROGRESS",
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "IMPORT_IN_PROGRESS",
        ] {
            assert!(super::is_deploying(status), "{status}");
        }
        for status in [
            "UPDATE_COMPLETE",
            "REVIEW_IN_PROGRESS",
            "ROLLBACK_COMPLETE",
            "",
        ] {
            assert!(!super::is_deploying(status), "{status}");
        }
    }
}
