//! `Custom::AlertTopic`: an SNS topic for alerts, standard or critical, encrypted where the
//! profile requires it; physical id the TopicArn. The properties here; the SNS calls, with the
//! subscriptions reconciled on Update, in `alert_topics.rs`.

pub use crate::alert_topics::AlertTopics;
use serde_json::Value;
use shared::props::show;
use shared::{Environment, Problem, PropertyError, Props, Tag};

pub const TYPE: &str = "Custom::AlertTopic";
pub const ATTRIBUTES: [&str; 2] = ["TopicArn", "TopicName"];
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
