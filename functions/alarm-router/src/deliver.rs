//! Composing a notification and publishing it to every destination of the alarm: the same for
//! a plain change, a flapping notice, a critical change during a deployment and a settled state.

use crate::event::AlarmEvent;
use crate::message::{self, Context, Severity};
use crate::output::{Action, Output, Published};
use crate::settle::Cause;
use crate::{AlarmRouter, RouterError, TAG_RUNBOOK, description, destinations};
use aws_sdk_sns::types::MessageAttributeValue;
use shared::error::describe_aws_error;
use std::collections::HashMap;

/// How a notification stands apart from a plain state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Change,
    /// The flapping notice: transitions in the window, and the window in minutes.
    FlappingNotice(usize, u64),
    /// A critical change while its stack or service deploys (critical ones are not held).
    DuringDeployment,
    Settled(Cause),
}

impl AlarmRouter {
    /// Composes and publishes the notification to every destination of the alarm.
    pub(crate) async fn deliver(
        &self,
        event: &AlarmEvent,
        tags: Option<HashMap<String, String>>,
        kind: Kind,
        deploying: Option<String>,
    ) -> Result<Output, RouterError> {
        let severity = Severity::of_alarm(description(event), tags.as_ref());
        let flapping = match kind {
            Kind::FlappingNotice(transitions, minutes) => Some((transitions, minutes)),
            _ => None,
        };
        let tags = tags.unwrap_or_default();
        let remediation = if event.detail.state.value == "ALARM" {
            let transition = event
                .detail
                .state
                .timestamp
                .clone()
                .or_else(|| event.id.clone())
                .unwrap_or_default();
            let blocked = match kind {
                Kind::Change => None,
                Kind::FlappingNotice(..) => {
                    Some("the alarm is flapping, and repeated deployments would not help")
                }
                Kind::DuringDeployment => Some("a deployment is already running"),
                Kind::Settled(_) => Some("sent as settled; the change itself was not acted on"),
            };
            self.remediate(&tags, blocked, &transition).await
        } else {
            None
        };
        let context = Context {
            environment: self.settings.environment.to_string(),
            severity,
            runbook: tags.get(TAG_RUNBOOK).cloned(),
            remediation: remediation.as_ref().map(|r| r.detail.clone()),
            flapping,
            settled: match kind {
                Kind::Settled(cause) => Some(cause),
                _ => None,
            },
            deploying,
            log_group: match &event.detail.configuration {
                Some(config) => crate::reads::log_group_of(&self.logs, &config.metrics).await,
                None => None,
            },
        };
        let topic = self.settings.topic_for(severity).to_owned();
        let effective = Severity::or_critical(severity);
        let (route, targets) =
            match self
                .settings
                .routes
                .select(&event.detail.alarm_name, &tags, effective)
            {
                Some((route, list)) => (Some(route.name.clone()), list.to_vec()),
                None => (
                    None,
                    destinations::destinations(
                        &topic,
                        &self.settings.chat,
                        &self.settings.pager,
                        effective,
                    ),
                ),
            };
        // Each destination on its own: one that fails does not keep the others from hearing.
        let mut published = Vec::new();
        let mut failed = Vec::new();
        for target in targets {
            let rendered = target.format.render(event, &context);
            match self.publish(&target.topic_arn, &rendered).await {
                Ok(message_id) => published.push(Published {
                    destination: target,
                    message_id,
                }),
                Err(detail) => failed.push((target, detail)),
            }
        }
        if !failed.is_empty() {
            return Err(RouterError::Publish {
                alarm: event.detail.alarm_name.clone(),
                topic: failed
                    .iter()
                    .map(|(t, _)| format!("{} ({})", t.topic_arn, t.name))
                    .collect::<Vec<_>>()
                    .join(", "),
                detail: failed
                    .into_iter()
                    .map(|(_, detail)| detail)
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let message_id = published
            .iter()
            .find(|p| p.destination.topic_arn == topic)
            .and_then(|p| p.message_id.clone());
        let state = event.detail.state.value.as_str();
        let reason = match kind {
            Kind::FlappingNotice(n, minutes) => {
                format!("{n} state changes in {minutes} minutes: one flapping notice")
            }
            Kind::Settled(cause) => format!("settled in {state} after {}", cause.phrase()),
            Kind::Change | Kind::DuringDeployment => format!(
                "{} -> {state}",
                event
                    .detail
                    .previous_state
                    .as_ref()
                    .map_or("unknown", |p| p.value.as_str()),
            ),
        };
        Ok(Output {
            severity: Some(effective),
            topic_arn: route.is_none().then_some(topic),
            message_id,
            route,
            published,
            reason,
            remediation,
            ..Output::quiet(Action::Published, None)
        })
    }

    async fn publish(
        &self,
        topic: &str,
        composed: &message::Message,
    ) -> Result<Option<String>, String> {
        let attributes: HashMap<String, MessageAttributeValue> = composed
            .attributes
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter_map(|(k, v)| {
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .ok()
                    .map(|a| ((*k).to_owned(), a))
            })
            .collect();
        self.sns
            .publish()
            .topic_arn(topic)
            .subject(&composed.subject)
            .message(&composed.body)
            .set_message_attributes(Some(attributes))
            .send()
            .await
            .map(|out| out.message_id)
            .map_err(|e| describe_aws_error(&e))
    }
}
