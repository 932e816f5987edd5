//! `Custom::AlertTopic`: an SNS topic for alerts, standard or critical, encrypted where the
//! profile requires it; physical id the TopicArn. The properties and the Update plan here; the
//! SNS calls in `alert_topics.rs`.

pub use crate::alert_topics::AlertTopics;
use serde_json::Value;
use shared::alarm_tags::TAG_SEVERITY;
use shared::plan::{Plan, retag, shown};
use shared::props::{removed_tag_keys, show};
use shared::{Environment, Problem, PropertyError, Props, Tag};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::AlertTopic";
pub const ATTRIBUTES: [&str; 3] = ["TopicArn", "TopicName", shared::cost::ATTRIBUTE];
pub const SEVERITIES: [&str; 2] = ["standard", "critical"];
pub const PROTOCOLS: [&str; 9] = [
    "email",
    "email-json",
    "sms",
    "sqs",
    "lambda",
    "http",
    "https",
    "firehose",
    "application",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subscription {
    pub protocol: String,
    pub endpoint: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicProps {
    pub environment: Environment,
    pub topic_name: String,
    pub severity: String,
    pub kms_key: Option<String>,
    pub subscriptions: Vec<Subscription>,
    pub tags: Vec<Tag>,
}

fn is_topic_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A key ARN, an alias ARN or name (`alias/...`), or a key id: what SNS accepts.
fn is_kms_key(text: &str) -> bool {
    shared::props::is_kms_key_arn(text)
        || text.starts_with("alias/")
        || (text.starts_with("arn:") && text.contains(":kms:") && text.contains(":alias/"))
        || (text.len() >= 32 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
        || text.starts_with("mrk-")
}

fn endpoint_fits(protocol: &str, endpoint: &str) -> bool {
    match protocol {
        "email" | "email-json" => endpoint.contains('@') && !endpoint.contains(char::is_whitespace),
        "http" => endpoint.starts_with("http://"),
        "https" => endpoint.starts_with("https://"),
        "sms" => endpoint.starts_with('+') && endpoint[1..].chars().all(|c| c.is_ascii_digit()),
        "sqs" => endpoint.starts_with("arn:") && endpoint.contains(":sqs:"),
        "lambda" => endpoint.starts_with("arn:") && endpoint.contains(":lambda:"),
        "firehose" => endpoint.starts_with("arn:") && endpoint.contains(":firehose:"),
        _ => endpoint.starts_with("arn:"),
    }
}

pub fn decode(props: &mut Props) -> Result<TopicProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let topic_name = props.required_valid_string(
        "TopicName",
        "must be 1 to 256 letters, digits, '-' and '_'",
        is_topic_name,
    )?;
    let severity = props
        .optional_choice("Severity", &SEVERITIES)?
        .unwrap_or("standard")
        .to_owned();
    let kms_key = props.optional_valid_string(
        "KmsKeyArn",
        "must be a KMS key ARN, alias ARN or alias/<name>",
        is_kms_key,
    )?;
    if kms_key.is_none() && environment.profile().encryption_required {
        return Err(props.error(
            "KmsKeyArn",
            Problem::RequiredWhen(format!(
                "Environment is {environment} (encryption is required from qa on)"
            )),
        ));
    }
    let mut subscriptions = Vec::new();
    for mut item in props
        .optional_object_list("Subscriptions")?
        .unwrap_or_default()
    {
        let protocol = item
            .optional_choice("Protocol", &PROTOCOLS)?
            .ok_or_else(|| item.error("Protocol", Problem::Missing))?
            .to_owned();
        let endpoint = item.required_string("Endpoint")?;
        if !endpoint_fits(&protocol, &endpoint) {
            return Err(item.error(
                "Endpoint",
                Problem::Invalid {
                    rule: format!("must be a valid {protocol} endpoint"),
                    got: show(&Value::String(endpoint)),
                },
            ));
        }
        item.finish()?;
        let subscription = Subscription { protocol, endpoint };
        if !subscriptions.contains(&subscription) {
            subscriptions.push(subscription);
        }
    }
    let tags = props.tags()?;
    Ok(TopicProps {
        environment,
        topic_name,
        severity,
        kms_key,
        subscriptions,
        tags,
    })
}

/// A topic as SNS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTopic {
    pub kms_key: Option<String>,
    /// With each one's ARN, or SNS's word for a pending one (`PendingConfirmation`).
    pub subscriptions: Vec<(Subscription, String)>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No topic of that name: CreateTopic (with its subscriptions).
    Create,
    SetKmsKey,
    Subscribe(Subscription),
    /// By subscription ARN.
    Unsubscribe(String),
    /// Tag keys to remove, pairs to set.
    Retag(Vec<String>, Vec<(String, String)>),
}

/// User tags plus the severity stackhand keeps on the topic (alarm-router reads it).
pub fn wanted_tags(props: &TopicProps) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = props
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    tags.push((TAG_SEVERITY.to_owned(), props.severity.clone()));
    tags
}

fn shown_subscription(sub: &Subscription) -> String {
    format!("{}:{}", sub.protocol, sub.endpoint)
}

/// What bringing the topic to `new` takes. Only subscriptions and tags the old properties had
/// are removed (others were added by hand); a pending subscription cannot be removed.
pub fn plan(live: Option<&LiveTopic>, old: Option<&TopicProps>, new: &TopicProps) -> Plan<Step> {
    let mut plan = Plan::new();
    let Some(live) = live else {
        plan.compare("TopicName", shown(None), &new.topic_name, Step::Create);
        return plan;
    };
    plan.compare(
        "KmsKeyArn",
        shown(live.kms_key.as_deref()),
        shown(new.kms_key.as_deref()),
        Step::SetKmsKey,
    );
    for wanted in &new.subscriptions {
        if !live.subscriptions.iter().any(|(s, _)| s == wanted) {
            plan.compare(
                "Subscriptions",
                shown(None),
                shown_subscription(wanted),
                Step::Subscribe(wanted.clone()),
            );
        }
    }
    for (sub, sub_arn) in &live.subscriptions {
        let dropped =
            !new.subscriptions.contains(sub) && old.is_some_and(|o| o.subscriptions.contains(sub));
        if dropped && sub_arn.starts_with("arn:") {
            plan.compare(
                "Subscriptions",
                shown_subscription(sub),
                shown(None),
                Step::Unsubscribe(sub_arn.clone()),
            );
        }
    }
    let removed = removed_tag_keys(old.map(|o| o.tags.as_slice()), &new.tags);
    let removable = |k: &str| removed.iter().any(|r| r == k);
    plan.add_retag(retag(&live.tags, &wanted_tags(new), removable), Step::Retag);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(endpoint: &str) -> Subscription {
        Subscription {
            protocol: "email".to_owned(),
            endpoint: endpoint.to_owned(),
        }
    }

    fn props() -> TopicProps {
        TopicProps {
            environment: Environment::Qa,
            topic_name: "alerts".to_owned(),
            severity: "critical".to_owned(),
            kms_key: Some("alias/alerts".to_owned()),
            subscriptions: vec![sub("ops@example.com")],
            tags: vec![Tag {
                key: "team".to_owned(),
                value: "ops".to_owned(),
            }],
        }
    }

    fn in_step(props: &TopicProps) -> LiveTopic {
        let mut tags: BTreeMap<String, String> = wanted_tags(props).into_iter().collect();
        tags.insert("stackhand:stack-id".to_owned(), "arn:stack".to_owned());
        LiveTopic {
            kms_key: props.kms_key.clone(),
            subscriptions: props
                .subscriptions
                .iter()
                .map(|s| {
                    (
                        s.clone(),
                        format!("arn:aws:sns:us-east-1:1:alerts:{}", s.endpoint),
                    )
                })
                .collect(),
            tags,
        }
    }

    #[test]
    fn a_topic_in_step_plans_nothing() {
        assert!(plan(Some(&in_step(&props())), Some(&props()), &props()).is_empty());
    }

    #[test]
    fn encryption_removed_by_hand_is_put_back() {
        let mut live = in_step(&props());
        live.kms_key = None;
        let plan = plan(Some(&live), Some(&props()), &props());
        assert_eq!(plan.properties(), ["KmsKeyArn"]);
        assert_eq!(
            (
                plan.changes[0].live.as_str(),
                plan.changes[0].desired.as_str()
            ),
            ("(none)", "alias/alerts")
        );
    }

    #[test]
    fn only_subscriptions_the_old_properties_made_are_removed() {
        let old = props();
        let mut new = old.clone();
        new.subscriptions = vec![sub("oncall@example.com")];
        let mut live = in_step(&old);
        live.subscriptions
            .push((sub("by-hand@example.com"), "arn:x".to_owned()));
        live.subscriptions
            .push((sub("pending@example.com"), "PendingConfirmation".to_owned()));
        let steps: Vec<Step> = plan(Some(&live), Some(&old), &new)
            .changes
            .into_iter()
            .map(|c| c.step)
            .collect();
        assert_eq!(
            steps,
            [
                Step::Subscribe(sub("oncall@example.com")),
                Step::Unsubscribe("arn:aws:sns:us-east-1:1:alerts:ops@example.com".to_owned())
            ]
        );
    }

    #[test]
    fn tags_follow_the_properties_and_the_severity() {
        let old = props();
        let mut new = old.clone();
        new.tags.clear();
        new.severity = "standard".to_owned();
        let steps: Vec<Step> = plan(Some(&in_step(&old)), Some(&old), &new)
            .changes
            .into_iter()
            .map(|c| c.step)
            .collect();
        assert_eq!(
            steps,
            [Step::Retag(
                vec!["team".to_owned()],
                vec![(TAG_SEVERITY.to_owned(), "standard".to_owned())]
            )]
        );
    }

    #[test]
    fn no_topic_is_a_create() {
        let plan = plan(None, None, &props());
        assert!(plan.needs(&Step::Create));
    }
}
