//! The inputs of scheduled functions: a classic EventBridge scheduled event, an EventBridge
//! Scheduler event (whose `detail` may be the JSON *string* `"{}"`), or a manual run
//! `{"dryRun": true, "keyIds": [...]}`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    /// `None`: the function's own setting decides.
    pub dry_run: Option<bool>,
    /// `None`: every key in the account.
    pub key_ids: Option<Vec<String>>,
    /// `aws.events`, `aws.scheduler` or `manual`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a scheduled event or a manual run ({{\"dryRun\": true, \"keyIds\": [..]}}): {0}")]
pub struct NotASchedule(pub String);

fn describe(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        other => crate::props::show(other),
    }
}

fn options(map: &Map<String, Value>, source: &str) -> Result<Run, NotASchedule> {
    let mut run = Run {
        source: source.to_owned(),
        ..Run::default()
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            ("dryRun", Value::Bool(b)) => run.dry_run = Some(*b),
            ("dryRun", Value::String(s)) if s.eq_ignore_ascii_case("true") => {
                run.dry_run = Some(true)
            }
            ("dryRun", Value::String(s)) if s.eq_ignore_ascii_case("false") => {
                run.dry_run = Some(false)
            }
            ("keyIds", Value::Array(items)) => {
                let ids: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect();
                match ids {
                    Some(ids) => run.key_ids = Some(ids),
                    None => {
                        return Err(NotASchedule("keyIds must be a list of key ids".to_owned()));
                    }
                }
            }
            ("dryRun", other) => {
                return Err(NotASchedule(format!(
                    "dryRun must be true or false, got {}",
                    crate::props::show(other)
                )));
            }
            ("keyIds", other) => {
                return Err(NotASchedule(format!(
                    "keyIds must be a list of key ids, got {}",
                    crate::props::show(other)
                )));
            }
            (other, _) => {
                return Err(NotASchedule(format!(
                    "unknown field {other}; a manual run takes dryRun and keyIds"
                )));
            }
        }
    }
    Ok(run)
}

pub fn parse(event: &Value) -> Result<Run, NotASchedule> {
    let Value::Object(map) = event else {
        return Err(NotASchedule(describe(event)));
    };
    let Some(detail_type) = map.get("detail-type") else {
        return options(map, "manual");
    };
    let source = map
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if detail_type.as_str() != Some("Scheduled Event")
        || !matches!(source, "aws.events" | "aws.scheduler")
    {
        return Err(NotASchedule(format!(
            "detail-type {} from source {}",
            crate::props::show(detail_type),
            if source.is_empty() { "(none)" } else { source }
        )));
    }
    let detail = match map.get("detail") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|e| NotASchedule(format!("detail is a string that is not JSON ({e})")))?,
        Some(other) => other.clone(),
    };
    match &detail {
        Value::Object(options_map) => options(options_map, source),
        other => Err(NotASchedule(format!("detail is {}", describe(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schedule_shape_is_accepted() {
        let classic = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(parse(&classic).expect("classic").source, "aws.events");
        let scheduler =
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"});
        let run = parse(&scheduler).expect("scheduler");
        assert_eq!(
            (run.source.as_str(), run.dry_run, run.key_ids),
            ("aws.scheduler", None, None)
        );
        let manual = json!({"dryRun": true, "keyIds": ["a", "b"]});
        let run = parse(&manual).expect("manual");
        assert_eq!(run.dry_run, Some(true));
        assert_eq!(run.key_ids, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(parse(&json!({})).expect("empty").source, "manual");
        let in_detail = json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{\"dryRun\": \"true\"}"});
        assert_eq!(
            parse(&in_detail).expect("detail options").dry_run,
            Some(true)
        );
    }

    #[test]
    fn anything_else_says_what_was_received() {
        let alarm = json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {}});
        assert_eq!(
            parse(&alarm).expect_err("not a schedule").to_string(),
            "not a scheduled event or a manual run ({\"dryRun\": true, \"keyIds\": [..]}): detail-type \"CloudWatch Alarm State Change\" from source aws.cloudwatch"
        );
        assert!(
            parse(&json!({"dryRun": "maybe"}))
                .expect_err("bad")
                .to_string()
                .contains("dryRun must be true or false, got \"maybe\"")
        );
        assert!(
            parse(&json!({"keyIds": "k"}))
                .expect_err("bad")
                .to_string()
                .contains("keyIds must be a list")
        );
        assert!(
            parse(&json!({"RequestType": "Create"}))
                .expect_err("bad")
                .to_string()
                .contains("unknown field RequestType")
        );
        assert!(parse(&json!([1])).is_err());
    }
}
