//! What one invocation answers: published (where, with which message ids) or suppressed (by
//! which rule), and what remediation did.

use crate::destinations::Destination;
use crate::message::Severity;
use crate::rules::Rule;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Published,
    Suppressed,
    /// A settle check found the alarm still changing and scheduled the next.
    Rescheduled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Remediation {
    pub action: &'static str,
    pub cluster: String,
    pub service: String,
    pub done: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub action: Action,
    pub severity: Option<Severity>,
    /// The e-mail (text) topic and its message id, as before destinations.
    pub topic_arn: Option<String>,
    pub message_id: Option<String>,
    /// The `ROUTES` route that matched, if any (then `topicArn` is absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Every destination the notification went to, text first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub published: Vec<Published>,
    pub reason: String,
    /// The suppression rule that fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// The CloudWatch alarm mute rule that muted the alarm (with rule `muted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mute_rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
}

impl Output {
    /// An answer that published nothing (yet): fill in the reason and what applies.
    pub fn quiet(action: Action, severity: Option<Severity>) -> Output {
        Output {
            action,
            severity,
            topic_arn: None,
            message_id: None,
            route: None,
            published: Vec::new(),
            reason: String::new(),
            rule: None,
            mute_rule: None,
            remediation: None,
        }
    }
}

/// One destination a notification went to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    #[serde(flatten)]
    pub destination: Destination,
    pub message_id: Option<String>,
}
