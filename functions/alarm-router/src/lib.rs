//! alarm-router: turns EventBridge "CloudWatch Alarm State Change" events into routed, readable
//! SNS notifications, drops the noise (and says which rule dropped it), and can force a new ECS
//! deployment for alarms tagged for it.

mod deliver;
pub mod destinations;
pub mod event;
pub mod formats;
pub mod message;
pub mod output;
mod reads;
mod remediation;
pub mod routes;
pub mod rules;
pub mod settings;
pub mod settle;

use aws_config::SdkConfig;
use deliver::Kind;
use event::{AlarmEvent, EventError};
use lambda_runtime::Diagnostic;
use message::Severity;
pub use output::{Action, Output, Published, Remediation};
use rules::{Flap, Rule};
use serde_json::Value;
pub use settings::RouterSettings;
use settle::{Cause, SettleCheck, Verdict};
use shared::settings::Settings;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use remediation::{
    FORCE_NEW_DEPLOYMENT, TAG_ECS_CLUSTER, TAG_ECS_SERVICE, TAG_REMEDIATE, TAG_REMEDIATED,
};
pub use shared::alarm_tags::{TAG_RUNBOOK, TAG_SEVERITY};

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
    /// Before the flapping notice goes out, so a retry of the event makes both.
    #[error(
        "the settle check for {alarm} could not be scheduled, so its flapping notice was not sent: {detail}"
    )]
    Schedule { alarm: String, detail: String },
    #[error("a settle check that does not parse: {0}")]
    MalformedSettleCheck(String),
    #[error("the settle check could not read {alarm}: {detail}")]
    SettleRead { alarm: String, detail: String },
}

impl From<RouterError> for Diagnostic {
    fn from(err: RouterError) -> Diagnostic {
        let error_type = match err {
            RouterError::Event(EventError::NotAnAlarmEvent { .. }) => "Stackhand.NotAnAlarmEvent",
            RouterError::Event(EventError::Malformed(_)) => "Stackhand.MalformedAlarmEvent",
            RouterError::Publish { .. } => "Stackhand.PublishFailed",
            RouterError::Schedule { .. } => "Stackhand.SettleCheckNotScheduled",
            RouterError::MalformedSettleCheck(_) => "Stackhand.MalformedSettleCheck",
            RouterError::SettleRead { .. } => "Stackhand.SettleCheckFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// The clients the router calls, built once.
#[derive(Clone)]
pub struct Clients {
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            ecs: aws_sdk_ecs::Client::new(config),
            scheduler: aws_sdk_scheduler::Client::new(config),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            logs: aws_sdk_cloudwatchlogs::Client::new(config),
        }
    }
}

#[derive(Clone)]
pub struct AlarmRouter {
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    ecs: aws_sdk_ecs::Client,
    scheduler: aws_sdk_scheduler::Client,
    cloudformation: aws_sdk_cloudformation::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    settings: Arc<RouterSettings>,
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl AlarmRouter {
    pub fn new(config: &SdkConfig, settings: RouterSettings) -> Self {
        Self::with_clients(Clients::new(config), settings)
    }

    pub fn with_clients(clients: Clients, settings: RouterSettings) -> Self {
        AlarmRouter {
            cloudwatch: clients.cloudwatch,
            sns: clients.sns,
            ecs: clients.ecs,
            scheduler: clients.scheduler,
            cloudformation: clients.cloudformation,
            logs: clients.logs,
            settings: Arc::new(settings),
        }
    }

    /// Reads the settings from the environment and builds the clients once.
    pub fn from_config(config: &SdkConfig) -> Result<Self, String> {
        let settings = RouterSettings::read(&Settings::from_env()).map_err(|e| e.to_string())?;
        Ok(AlarmRouter::new(config, settings))
    }

    /// An alarm state change from EventBridge, or a settle check from the router's schedule.
    pub async fn handle(&self, event: Value) -> Result<Value, RouterError> {
        let (alarm, output) = match SettleCheck::from_event(&event) {
            Some(check) => {
                let check = check.map_err(RouterError::MalformedSettleCheck)?;
                (check.alarm_name.clone(), self.settle(&check).await?)
            }
            None => {
                let event = event::parse(&event)?;
                (event.detail.alarm_name.clone(), self.route(&event).await?)
            }
        };
        tracing::info!(
            alarm,
            action = ?output.action,
            rule = ?output.rule,
            reason = output.reason,
            "routed"
        );
        Ok(serde_json::to_value(output).unwrap_or_default())
    }

    fn suppressed(&self, rule: Rule, event: &AlarmEvent, severity: Option<Severity>) -> Output {
        Output {
            reason: rule.explain(&event.detail, self.settings.noise),
            rule: Some(rule),
            ..Output::quiet(Action::Suppressed, severity)
        }
    }

    pub async fn route(&self, event: &AlarmEvent) -> Result<Output, RouterError> {
        if let Some(rule) = rules::before_history(&event.detail, self.settings.noise) {
            return Ok(self.suppressed(rule, event, None));
        }
        let alarm_name = &event.detail.alarm_name;
        if let Some(mute_rule) = reads::active_mute_rule(&self.cloudwatch, alarm_name).await {
            return Ok(Output {
                reason: format!("muted by the alarm mute rule {mute_rule}"),
                mute_rule: Some(mute_rule),
                ..self.suppressed(Rule::Muted, event, None)
            });
        }
        // Still read when the description names the severity: routes, runbook and remediation.
        let tags = reads::tags(&self.cloudwatch, &message::alarm_arn(event)).await;
        let deploying = reads::deployment(
            &self.cloudformation,
            &self.ecs,
            tags.as_ref().unwrap_or(&HashMap::new()),
            dimensions(event),
        )
        .await;
        let severity = Severity::of_alarm(description(event), tags.as_ref());
        if let Some(deployment) = deploying {
            if Severity::or_critical(severity) == Severity::Critical {
                return self
                    .deliver(event, tags, Kind::DuringDeployment, Some(deployment))
                    .await;
            }
            self.schedule_settle(event, Cause::Deploying).await?;
            return Ok(Output {
                reason: format!(
                    "held while a deployment runs ({deployment}); the state the alarm settles in will be sent"
                ),
                ..self.suppressed(Rule::Deploying, event, severity)
            });
        }
        let window = Duration::from_secs(self.settings.flap_window_minutes * 60);
        let kind = match reads::transitions(&self.cloudwatch, alarm_name, window).await {
            Some(count) => match rules::flap(count, self.settings.noise.flap_threshold) {
                Flap::Suppress => return Ok(self.suppressed(Rule::Flapping, event, severity)),
                Flap::Notice { transitions } => {
                    self.schedule_settle(event, Cause::Flapping).await?;
                    Kind::FlappingNotice(transitions, self.settings.flap_window_minutes)
                }
                Flap::Steady => Kind::Change,
            },
            None => Kind::Change,
        };
        self.deliver(event, tags, kind, None).await
    }

    /// The first settle check, a settle period after the change that was not sent as it was.
    async fn schedule_settle(&self, event: &AlarmEvent, cause: Cause) -> Result<(), RouterError> {
        let Some(settle) = &self.settings.settle else {
            return Ok(());
        };
        let changed_at = event
            .detail
            .state
            .timestamp
            .as_deref()
            .and_then(|t| {
                aws_smithy_types::DateTime::from_str(
                    t,
                    aws_smithy_types::date_time::Format::DateTime,
                )
                .ok()
            })
            .map_or_else(now_seconds, |t| t.secs());
        let check = SettleCheck {
            alarm_name: event.detail.alarm_name.clone(),
            alarm_arn: message::alarm_arn(event),
            window_ends_at: changed_at + self.settings.flap_window_minutes as i64 * 60,
            cause,
            due: 0,
        };
        let due = (changed_at + settle.minutes as i64 * 60)
            .max(now_seconds() + settle::MIN_DELAY_SECONDS);
        settle::schedule(&self.scheduler, settle, &check, due)
            .await
            .map(|_| ())
            .map_err(|detail| RouterError::Schedule {
                alarm: check.alarm_name.clone(),
                detail,
            })
    }

    /// A settle check: one `[SETTLED]` notification once the alarm has held its state, else
    /// the next check.
    pub async fn settle(&self, check: &SettleCheck) -> Result<Output, RouterError> {
        let read_error = |detail| RouterError::SettleRead {
            alarm: check.alarm_name.clone(),
            detail,
        };
        let Some((event, since)) = settle::current_as_event(&self.cloudwatch, check)
            .await
            .map_err(read_error)?
        else {
            return Ok(Output {
                reason: "the alarm no longer exists: nothing to settle".to_owned(),
                ..Output::quiet(Action::Suppressed, None)
            });
        };
        let settle_seconds = self.settings.settle.as_ref().map_or(0, |s| s.minutes) as i64 * 60;
        match settle::judge(now_seconds(), since, settle_seconds, check.window_ends_at) {
            Verdict::Recheck(at) => {
                let settings = self.settings.settle.as_ref();
                if let Some(settings) = settings {
                    settle::schedule(&self.scheduler, settings, check, at)
                        .await
                        .map_err(|detail| RouterError::Schedule {
                            alarm: check.alarm_name.clone(),
                            detail,
                        })?;
                }
                Ok(Output {
                    reason: format!(
                        "not settled: the state changed {} s ago; checking again at {}",
                        now_seconds() - since,
                        settle::at_expression(at)
                    ),
                    ..Output::quiet(Action::Rescheduled, None)
                })
            }
            Verdict::Settled => {
                if let Some(settings) = &self.settings.settle
                    && settle::later_check_pending(&self.scheduler, settings, check).await
                {
                    return Ok(Output {
                        reason: "a later settle check of the alarm is pending: it will send"
                            .to_owned(),
                        ..Output::quiet(Action::Suppressed, None)
                    });
                }
                let event = event::parse(&event)?;
                let tags = reads::tags(&self.cloudwatch, &check.alarm_arn).await;
                self.deliver(&event, tags, Kind::Settled(check.cause), None)
                    .await
            }
        }
    }
}

/// The dimensions of the alarm's first metric that names an ECS service.
fn dimensions(event: &AlarmEvent) -> Option<&std::collections::BTreeMap<String, String>> {
    let config = event.detail.configuration.as_ref()?;
    config.metrics.iter().find_map(|entry| {
        let dims = &entry.metric_stat.as_ref()?.metric.dimensions;
        (dims.contains_key("ClusterName") && dims.contains_key("ServiceName")).then_some(dims)
    })
}

fn description(event: &AlarmEvent) -> Option<&str> {
    event
        .detail
        .configuration
        .as_ref()
        .and_then(|c| c.description.as_deref())
}

#[cfg(test)]
#[path = "router_tests.rs"]
mod tests;
