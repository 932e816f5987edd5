//! What the router is configured with, read once at start from its environment; a bad value
//! fails every invocation naming the variable (and so the template's parameter).

use crate::destinations::{self, TopicPair};
use crate::message::Severity;
use crate::routes::{self, Routes};
use crate::rules::NoiseSettings;
use crate::settle::SettleSettings;
use shared::Environment;
use shared::settings::{SettingError, Settings};

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
    /// The settle check after a flapping notice (`SETTLE_*`); `None` turns it off.
    pub settle: Option<SettleSettings>,
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
            settle: SettleSettings::read(env)?,
        })
    }

    /// Critical alarms (and those of unknown severity) go to the critical topic where the
    /// environment has one (uat, prod).
    pub fn topic_for(&self, severity: Option<Severity>) -> &str {
        match (&self.critical_topic_arn, Severity::or_critical(severity)) {
            (Some(critical), Severity::Critical) if self.environment.profile().critical_alerts => {
                critical
            }
            _ => &self.alert_topic_arn,
        }
    }
}
