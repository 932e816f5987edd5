//! Where a notification goes: for each severity, one or more destinations, each an SNS topic and
//! the format its readers need. The e-mail topic (`text`, today's routing) always; when given, a
//! chat topic (`chat`) and a pager topic (`cloudwatch`), each with an optional critical
//! counterpart (docs/functions.md, "Destinations").

use crate::formats::Format;
use crate::message::Severity;
use serde::Serialize;
use shared::settings::{SettingError, Settings};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// What it is called: `alerts`, `chat`, `pager`, or its name in `ROUTES`.
    pub name: String,
    pub topic_arn: String,
    pub format: Format,
}

/// A chat or pager topic for standard alerts and, optionally, another for critical ones (which
/// fall back to the standard one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicPair {
    pub standard: Option<String>,
    pub critical: Option<String>,
}

/// `arn:<partition>:sns:<region>:<12-digit account>:<name>`.
pub fn is_topic_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    matches!(parts.as_slice(), ["arn", partition, "sns", region, account, name]
        if partition.starts_with("aws") && !region.is_empty()
            && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty())
}

/// The topic `name` holds, if set; anything but an SNS topic ARN is refused at start.
pub fn topic<F: Fn(&str) -> Option<String>>(
    env: &Settings<F>,
    name: &'static str,
) -> Result<Option<String>, SettingError> {
    match env.text(name) {
        None => Ok(None),
        Some(arn) if is_topic_arn(arn.trim()) => Ok(Some(arn.trim().to_owned())),
        Some(other) => Err(SettingError {
            name,
            problem: format!(
                "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got \"{other}\""
            ),
        }),
    }
}

impl TopicPair {
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &Settings<F>,
        standard: &'static str,
        critical: &'static str,
    ) -> Result<TopicPair, SettingError> {
        Ok(TopicPair {
            standard: topic(env, standard)?,
            critical: topic(env, critical)?,
        })
    }

    /// The topic for `severity`, if any.
    pub fn for_severity(&self, severity: Severity) -> Option<&str> {
        match severity {
            Severity::Critical => self.critical.as_deref().or(self.standard.as_deref()),
            Severity::Warning | Severity::Info => self.standard.as_deref(),
        }
    }
}

/// Every destination of `severity`: the e-mail topic `text` chose, then chat and pager.
pub fn destinations(
    text_topic: &str,
    chat: &TopicPair,
    pager: &TopicPair,
    severity: Severity,
) -> Vec<Destination> {
    let mut list = vec![Destination {
        name: "alerts".to_owned(),
        topic_arn: text_topic.to_owned(),
        format: Format::Text,
    }];
    for (name, pair, format) in [
        ("chat", chat, Format::Chat),
        ("pager", pager, Format::CloudWatch),
    ] {
        if let Some(topic) = pair.for_severity(severity) {
            list.push(Destination {
                name: name.to_owned(),
                topic_arn: topic.to_owned(),
                format,
            });
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:chat";
    const PAGER: &str = "arn:aws:sns:us-east-1:123456789012:pager";

    fn pair(vars: &[(&str, &str)]) -> Result<TopicPair, SettingError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TopicPair::read(
            &Settings::new(move |name| vars.get(name).cloned()),
            "PAGER_TOPIC_ARN",
            "CRITICAL_PAGER_TOPIC_ARN",
        )
    }

    fn formats(list: &[Destination]) -> Vec<(&str, Format)> {
        list.iter().map(|d| (d.name.as_str(), d.format)).collect()
    }

    #[test]
    fn without_chat_or_pager_topics_only_the_email_topic_is_used() {
        let none = TopicPair::default();
        let list = destinations(
            "arn:aws:sns:us-east-1:123456789012:alerts",
            &none,
            &none,
            Severity::Critical,
        );
        assert_eq!(formats(&list), [("alerts", Format::Text)]);
    }

    #[test]
    fn critical_alarms_use_the_critical_topic_and_fall_back_to_the_standard_one() {
        let chat = TopicPair {
            standard: Some(CHAT.to_owned()),
            critical: None,
        };
        let pager = pair(&[("CRITICAL_PAGER_TOPIC_ARN", PAGER)]).expect("valid");
        let critical = destinations("a", &chat, &pager, Severity::Critical);
        assert_eq!(
            formats(&critical),
            [
                ("alerts", Format::Text),
                ("chat", Format::Chat),
                ("pager", Format::CloudWatch)
            ]
        );
        let warning = destinations("a", &chat, &pager, Severity::Warning);
        assert_eq!(
            formats(&warning),
            [("alerts", Format::Text), ("chat", Format::Chat)],
            "no pager for a warning"
        );
    }

    #[test]
    fn a_topic_that_is_not_an_sns_arn_is_named_at_start() {
        let err = pair(&[("PAGER_TOPIC_ARN", "pagerduty")]).expect_err("refused");
        assert_eq!(err.name, "PAGER_TOPIC_ARN");
        assert!(err.problem.contains("got \"pagerduty\""), "{}", err.problem);
        assert!(pair(&[("PAGER_TOPIC_ARN", "arn:aws:sns:us-east-1:12345:short")]).is_err());
    }
}
