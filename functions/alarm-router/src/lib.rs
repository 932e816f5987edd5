//! alarm-router: turns EventBridge "CloudWatch Alarm State Change" events into routed, readable
//! SNS notifications, drops the noise (and says which rule dropped it), and can force a new ECS
//! deployment for alarms tagged for it.

pub mod destinations;
pub mod event;
pub mod formats;
pub mod message;
pub mod output;
mod remediation;
pub mod routes;
pub mod rules;

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::HistoryItemType;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_types::DateTime;
use destinations::TopicPair;
use event::{AlarmEvent, EventError};
use lambda_runtime::Diagnostic;
use message::{Context, Severity};
pub use output::{Action, Output, Published, Remediation};
use routes::Routes;
use rules::{Flap, NoiseSettings, Rule};
use serde_json::Value;
use shared::Environment;
use shared::error::describe_aws_error;
use shared::settings::{SettingError, Settings};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use remediation::{
    FORCE_NEW_DEPLOYMENT, TAG_ECS_CLUSTER, TAG_ECS_SERVICE, TAG_REMEDIATE, TAG_REMEDIATED,
};
pub use shared::alarm_tags::{TAG_RUNBOOK, TAG_SEVERITY};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSettings {
    pub environment: Environment,
    pub alert_topic_arn: String,
    pub critical_topic_arn: Option<String>,
    pub noise: NoiseSettings,
    pub flap_window_minutes: u64,
    pub remediation_enabled: bool,
    /// Amazon Q Developer custom notifications (`CHAT_TOPIC_ARN`, `CRITICAL_CHAT_TOPIC_ARN`).
    pub chat: TopicPair,
    /// CloudWatch's own notification JSON, for pagers (`PAGER_TOPIC_ARN`, `CRITICAL_PAGER_TOPIC_ARN`).
    pub pager: TopicPair,
    /// Routing by team (`ROUTES`); an alarm no route matches goes to the topics above.
    pub routes: Routes,
}

impl RouterSettings {
    pub fn read<F: Fn(&str) -> Option<String>>(env: &Settings<F>) -> Result<Self, SettingError> {
        let environment = env
            .text("ENVIRONMENT")
            .and_then(|e| Environment::parse(e.trim()).map(Ok).or(Some(Err(e))));
        let environment = match environment {
            Some(Ok(e)) => e,
            Some(Err(got)) => {
                return Err(SettingError {
                    name: "ENVIRONMENT",
                    problem: format!("must be one of dev, qa, uat, prod, got \"{got}\""),
                });
            }
            None => {
                return Err(SettingError {
                    name: "ENVIRONMENT",
                    problem: "is required (dev, qa, uat or prod)".to_owned(),
                });
            }
        };
        let alert_topic_arn = destinations::topic(env, "ALERT_TOPIC_ARN")?.ok_or(SettingError {
            name: "ALERT_TOPIC_ARN",
            problem: "is required: the topic for alerts".to_owned(),
        })?;
        Ok(RouterSettings {
            environment,
            alert_topic_arn,
            critical_topic_arn: destinations::topic(env, "CRITICAL_TOPIC_ARN")?,
            noise: NoiseSettings {
                notify_on_ok: env.bool("NOTIFY_ON_OK", true)?,
                suppress_initial_ok: env.bool("SUPPRESS_INITIAL_OK", true)?,
                // The ranges fit their types.
                flap_threshold: env.int("FLAP_THRESHOLD", 4, 1..=1000)? as usize,
            },
            flap_window_minutes: env.int("FLAP_WINDOW_MINUTES", 60, 1..=1440)? as u64,
            remediation_enabled: env.bool("REMEDIATION_ENABLED", false)?,
            chat: TopicPair::read(env, "CHAT_TOPIC_ARN", "CRITICAL_CHAT_TOPIC_ARN")?,
            pager: TopicPair::read(env, "PAGER_TOPIC_ARN", "CRITICAL_PAGER_TOPIC_ARN")?,
            routes: match env.text(routes::VARIABLE) {
                None => Routes::default(),
                Some(text) => Routes::parse(&text).map_err(|problem| SettingError {
                    name: routes::VARIABLE,
                    problem,
                })?,
            },
        })
    }

    /// Critical alarms go to the critical topic where the environment has one (uat, prod).
    pub fn topic_for(&self, severity: Option<Severity>) -> &str {
        match (&self.critical_topic_arn, severity) {
            (Some(critical), Some(Severity::Critical))
                if self.environment.profile().critical_alerts =>
            {
                critical
            }
            _ => &self.alert_topic_arn,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("the notification for {alarm} was not published to {topic}: {detail}")]
    Publish {
        alarm: String,
        topic: String,
        detail: String,
    },
}

impl From<RouterError> for Diagnostic {
    fn from(err: RouterError) -> Diagnostic {
        let error_type = match err {
            RouterError::Event(EventError::NotAnAlarmEvent { .. }) => "Stackhand.NotAnAlarmEvent",
            RouterError::Event(EventError::Malformed(_)) => "Stackhand.MalformedAlarmEvent",
            RouterError::Publish { .. } => "Stackhand.PublishFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[derive(Clone)]
pub struct AlarmRouter {
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    ecs: aws_sdk_ecs::Client,
    settings: Arc<RouterSettings>,
}

impl AlarmRouter {
    pub fn new(config: &SdkConfig, settings: RouterSettings) -> Self {
        Self::with_clients(
            aws_sdk_cloudwatch::Client::new(config),
            aws_sdk_sns::Client::new(config),
            aws_sdk_ecs::Client::new(config),
            settings,
        )
    }

    pub fn with_clients(
        cloudwatch: aws_sdk_cloudwatch::Client,
        sns: aws_sdk_sns::Client,
        ecs: aws_sdk_ecs::Client,
        settings: RouterSettings,
    ) -> Self {
        AlarmRouter {
            cloudwatch,
            sns,
            ecs,
            settings: Arc::new(settings),
        }
    }

    /// Reads the settings from the environment and builds the clients once.
    pub fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let settings = RouterSettings::read(&Settings::from_env()).map_err(|e| e.to_string())?;
        Ok(AlarmRouter::new(config, settings))
    }

    pub async fn handle(&self, event: Value) -> Result<Value, RouterError> {
        let event = event::parse(&event)?;
        let output = self.route(&event).await?;
        tracing::info!(
            alarm = event.detail.alarm_name,
            state = event.detail.state.value,
            action = ?output.action,
            rule = ?output.rule,
            reason = output.reason,
            "routed"
        );
        Ok(serde_json::to_value(output).unwrap_or_default())
    }

    fn suppressed(&self, rule: Rule, event: &AlarmEvent, severity: Option<Severity>) -> Output {
        Output {
            action: Action::Suppressed,
            severity,
            topic_arn: None,
            message_id: None,
            route: None,
            published: Vec::new(),
            reason: rule.explain(&event.detail, self.settings.noise),
            rule: Some(rule),
            remediation: None,
        }
    }

    pub async fn route(&self, event: &AlarmEvent) -> Result<Output, RouterError> {
        if let Some(rule) = rules::before_history(&event.detail, self.settings.noise) {
            return Ok(self.suppressed(rule, event, None));
        }
        let arn = message::alarm_arn(event);
        let tags = self.tags(&arn).await;
        let severity = tags
            .as_ref()
            .map(|t| Severity::from_tag(t.get(TAG_SEVERITY).map(String::as_str)));
        let flapping = match self.transitions(&event.detail.alarm_name).await {
            Some(count) => rules::flap(count, self.settings.noise.flap_threshold),
            None => Flap::Steady,
        };
        let flapping = match flapping {
            Flap::Suppress => return Ok(self.suppressed(Rule::Flapping, event, severity)),
            Flap::Notice { transitions } => Some((transitions, self.settings.flap_window_minutes)),
            Flap::Steady => None,
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
            self.remediate(&tags, flapping.is_some(), &transition).await
        } else {
            None
        };
        let context = Context {
            environment: self.settings.environment.to_string(),
            severity,
            runbook: tags.get(TAG_RUNBOOK).cloned(),
            remediation: remediation.as_ref().map(|r| r.detail.clone()),
            flapping,
        };
        let topic = self.settings.topic_for(severity).to_owned();
        let effective = severity.unwrap_or(Severity::Warning);
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
        let reason = match flapping {
            Some((n, minutes)) => {
                format!("{n} state changes in {minutes} minutes: one flapping notice")
            }
            None => format!(
                "{} -> {}",
                event
                    .detail
                    .previous_state
                    .as_ref()
                    .map_or("unknown", |p| p.value.as_str()),
                event.detail.state.value
            ),
        };
        Ok(Output {
            action: Action::Published,
            severity: Some(severity.unwrap_or(Severity::Warning)),
            topic_arn: route.is_none().then_some(topic),
            message_id,
            route,
            published,
            reason,
            rule: None,
            remediation,
        })
    }

    /// The alarm's tags; `None` when they cannot be read (the notification still goes out).
    async fn tags(&self, arn: &str) -> Option<HashMap<String, String>> {
        match self
            .cloudwatch
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
                tracing::warn!(alarm_arn = arn, error = %describe_aws_error(&err), "tags unreadable; severity defaults to warning");
                None
            }
        }
    }

    /// State changes in the flap window; `None` when history is unknown, which never blocks
    /// a notification.
    async fn transitions(&self, alarm_name: &str) -> Option<usize> {
        let now = SystemTime::now();
        let window = Duration::from_secs(self.settings.flap_window_minutes * 60);
        let start = now.checked_sub(window).unwrap_or(SystemTime::UNIX_EPOCH);
        let history = self
            .cloudwatch
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

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
