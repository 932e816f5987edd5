//! Routing by team (`ROUTES`, template parameter `AlertRoutes`): a JSON document that names
//! destinations and sends an alarm, by its tags and name prefix, to some of them. The first route
//! that matches wins; an alarm no route matches goes to the default destinations (the template's
//! topics). Severity still decides: each route lists its standard and its critical destinations.
//! Read and checked once, at start: a mistake fails every invocation, naming the entry.

use crate::destinations::{Destination, is_topic_arn};
use crate::formats::Format;
use crate::message::Severity;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The variable, and the template parameter that sets it, for error messages.
pub const VARIABLE: &str = "ROUTES";
pub const PARAMETER: &str = "AlertRoutes";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    destinations: BTreeMap<String, DestinationEntry>,
    routes: Vec<RouteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DestinationEntry {
    topic: String,
    format: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default, rename = "namePrefix")]
    name_prefix: Option<String>,
    #[serde(default)]
    standard: Vec<String>,
    #[serde(default)]
    critical: Vec<String>,
}

/// One checked route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    tags: BTreeMap<String, String>,
    name_prefix: Option<String>,
    standard: Vec<Destination>,
    critical: Vec<Destination>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// Parses and checks `text`; the error names the entry and what is wrong with it.
    pub fn parse(text: &str) -> Result<Routes, String> {
        // Read after the variable's name: `ROUTES (template parameter AlertRoutes): ...`.
        let fail = |what: String| format!("(template parameter {PARAMETER}): {what}");
        let doc: Document = serde_json::from_str(text).map_err(|e| {
            fail(format!(
                "not a routing document ({e}); expected {{\"destinations\": {{...}}, \"routes\": [...]}}"
            ))
        })?;
        let mut destinations = HashMap::new();
        for (name, entry) in &doc.destinations {
            let format = Format::parse(&entry.format).ok_or_else(|| {
                fail(format!(
                    "destinations.{name}.format: \"{}\" is not a format; one of {}",
                    entry.format,
                    Format::NAMES.join(", ")
                ))
            })?;
            if !is_topic_arn(&entry.topic) {
                return Err(fail(format!(
                    "destinations.{name}.topic: \"{}\" is not an SNS topic ARN",
                    entry.topic
                )));
            }
            destinations.insert(
                name.clone(),
                Destination {
                    name: name.clone(),
                    topic_arn: entry.topic.clone(),
                    format,
                },
            );
        }
        let known = doc
            .destinations
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut routes = Vec::new();
        for (i, entry) in doc.routes.iter().enumerate() {
            let at = format!("routes[{i}] ({})", entry.name);
            if entry.name.trim().is_empty() {
                return Err(fail(format!("routes[{i}]: name is empty")));
            }
            if entry.tags.is_empty() && entry.name_prefix.as_deref().unwrap_or("").is_empty() {
                return Err(fail(format!(
                    "{at}: matches every alarm; give tags or namePrefix (the default destinations are the template's topics)"
                )));
            }
            if entry.standard.is_empty() && entry.critical.is_empty() {
                return Err(fail(format!(
                    "{at}: sends nowhere; list destinations under standard or critical"
                )));
            }
            let resolve = |field: &str, names: &[String]| -> Result<Vec<Destination>, String> {
                names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| {
                        destinations.get(name).cloned().ok_or_else(|| {
                            fail(format!(
                                "{at}.{field}[{j}]: unknown destination \"{name}\"; known: {known}"
                            ))
                        })
                    })
                    .collect()
            };
            routes.push(Route {
                name: entry.name.clone(),
                tags: entry.tags.clone(),
                name_prefix: entry.name_prefix.clone().filter(|p| !p.is_empty()),
                standard: resolve("standard", &entry.standard)?,
                critical: resolve("critical", &entry.critical)?,
            });
        }
        Ok(Routes { routes })
    }

    /// The first route that matches the alarm, and its destinations for `severity` (which may
    /// be none: a route can page only for critical alarms).
    pub fn select(
        &self,
        alarm_name: &str,
        tags: &HashMap<String, String>,
        severity: Severity,
    ) -> Option<(&Route, &[Destination])> {
        let route = self.routes.iter().find(|r| {
            r.name_prefix
                .as_deref()
                .is_none_or(|p| alarm_name.starts_with(p))
                && r.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
        })?;
        let list = match severity {
            Severity::Critical => &route.critical,
            Severity::Warning | Severity::Info => &route.standard,
        };
        Some((route, list.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
        "destinations": {
            "payments-chat": {"topic": "arn:aws:sns:us-east-1:123456789012:payments-chat", "format": "chat"},
            "payments-pager": {"topic": "arn:aws:sns:us-east-1:123456789012:payments-pager", "format": "cloudwatch"},
            "search-mail": {"topic": "arn:aws:sns:us-east-1:123456789012:search", "format": "text"}
        },
        "routes": [
            {"name": "payments", "tags": {"team": "payments"},
             "standard": ["payments-chat"], "critical": ["payments-chat", "payments-pager"]},
            {"name": "search", "namePrefix": "search-", "standard": ["search-mail"], "critical": ["search-mail"]}
        ]
    }"#;

    fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn names(list: &[Destination]) -> Vec<&str> {
        list.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn the_first_matching_route_decides_by_tags_then_name_prefix_and_severity() {
        let routes = Routes::parse(DOC).expect("valid");
        let (route, list) = routes
            .select(
                "api-errors",
                &tags(&[("team", "payments")]),
                Severity::Critical,
            )
            .expect("payments");
        assert_eq!(route.name, "payments");
        assert_eq!(names(list), ["payments-chat", "payments-pager"]);
        let (_, list) = routes
            .select(
                "api-errors",
                &tags(&[("team", "payments")]),
                Severity::Warning,
            )
            .expect("payments");
        assert_eq!(names(list), ["payments-chat"]);
        let (route, _) = routes
            .select("search-latency", &tags(&[]), Severity::Warning)
            .expect("search");
        assert_eq!(route.name, "search");
        assert!(
            routes
                .select(
                    "orders-cpu",
                    &tags(&[("team", "orders")]),
                    Severity::Critical
                )
                .is_none()
        );
        assert_eq!(
            Routes::parse(r#"{"destinations": {}, "routes": []}"#),
            Ok(Routes::default())
        );
    }

    #[test]
    fn each_mistake_names_its_entry_and_the_template_parameter() {
        let cases = [
            (
                r#"{"destinations": {}, "routes": [{"name": "a", "tags": {"team": "x"}, "standard": ["nope"]}]}"#,
                "(template parameter AlertRoutes): routes[0] (a).standard[0]: unknown destination \"nope\"; known: ",
            ),
            (
                r#"{"destinations": {"d": {"topic": "arn:aws:sns:us-east-1:123456789012:t", "format": "slack"}}, "routes": []}"#,
                "destinations.d.format: \"slack\" is not a format; one of text, chat, cloudwatch",
            ),
            (
                r#"{"destinations": {"d": {"topic": "t", "format": "chat"}}, "routes": []}"#,
                "destinations.d.topic: \"t\" is not an SNS topic ARN",
            ),
            (
                r#"{"destinations": {}, "routes": [{"name": "all", "standard": ["d"]}]}"#,
                "routes[0] (all): matches every alarm",
            ),
            (
                r#"{"destinations": {}, "routes": [{"name": "quiet", "namePrefix": "q-"}]}"#,
                "routes[0] (quiet): sends nowhere",
            ),
            (
                r#"{"destinations": {}, "routes": [], "default": []}"#,
                "not a routing document",
            ),
            ("team=payments", "not a routing document"),
        ];
        for (doc, expected) in cases {
            let err = Routes::parse(doc).expect_err(doc);
            assert!(err.contains(expected), "{doc}\n{err}");
            assert!(
                err.starts_with("(template parameter AlertRoutes): "),
                "{err}"
            );
        }
    }
}
