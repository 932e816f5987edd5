//! Decoding the CloudFormation event, in two steps: first the few fields needed to answer at
//! all (so that even a malformed event gets its FAILED), then the typed request.

use crate::error::InvocationError;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as CfnRequest;
use serde_json::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl RequestType {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestType::Create => "Create",
            RequestType::Update => "Update",
            RequestType::Delete => "Delete",
        }
    }
}

/// A decoded custom-resource request. The ResponseURL stays inside the protocol core.
#[derive(Clone)]
pub struct Request {
    pub request_type: RequestType,
    pub request_id: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    /// Absent on Create.
    pub physical_resource_id: Option<String>,
    pub properties: Value,
    /// Present on Update only.
    pub old_properties: Option<Value>,
    pub(crate) response_url: String,
    /// When the runner's deadline guard fires; the work must be over by then.
    pub(crate) guard_at: Option<tokio::time::Instant>,
}

impl Request {
    /// How long until the runner's deadline guard; `None` outside the runner (no deadline).
    pub fn time_left(&self) -> Option<std::time::Duration> {
        self.guard_at
            .map(|guard| guard.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// The user's tags plus the owner record (stack, logical resource, request, environment,
    /// time): what a Create puts on a new resource, so that the ownership rule can find it.
    pub fn resource_tags(
        &self,
        user: &[crate::props::Tag],
        environment: crate::Environment,
    ) -> Vec<(String, String)> {
        user.iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .chain(super::Owner::of(self, environment).tags())
            .collect()
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("request_type", &self.request_type)
            .field("request_id", &self.request_id)
            .field("stack_id", &self.stack_id)
            .field("logical_resource_id", &self.logical_resource_id)
            .field("resource_type", &self.resource_type)
            .field("physical_resource_id", &self.physical_resource_id)
            .field("response_url", &redact_url(&self.response_url))
            .finish_non_exhaustive()
    }
}

/// What is needed to answer, read leniently from whatever arrived.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub request_type: Option<String>,
    pub resource_type: Option<String>,
}

fn text(event: &Value, field: &str) -> Option<String> {
    event.get(field).and_then(Value::as_str).map(str::to_owned)
}

pub(crate) fn envelope(event: &Value) -> Result<Envelope, InvocationError> {
    let Some(response_url) = text(event, "ResponseURL").filter(|u| !u.is_empty()) else {
        let received = match event {
            Value::Object(map) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).take(12).collect();
                format!(
                    "an object with keys [{}] and no ResponseURL",
                    keys.join(", ")
                )
            }
            other => format!("a JSON {}", json_kind(other)),
        };
        return Err(InvocationError::NotCustomResourceEvent(received));
    };
    Ok(Envelope {
        response_url,
        stack_id: text(event, "StackId").unwrap_or_default(),
        request_id: text(event, "RequestId").unwrap_or_default(),
        logical_resource_id: text(event, "LogicalResourceId").unwrap_or_default(),
        physical_resource_id: text(event, "PhysicalResourceId").filter(|p| !p.is_empty()),
        request_type: text(event, "RequestType"),
        resource_type: text(event, "ResourceType"),
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// The typed request; the error text becomes the FAILED Reason.
pub(crate) fn decode(event: Value) -> Result<Request, String> {
    let request: CfnRequest<Value, Value> = serde_json::from_value(event)
        .map_err(|err| format!("malformed CloudFormation event: {err}"))?;
    // The three variants share their fields; only the id and the old properties differ.
    macro_rules! request {
        ($r:ident, $kind:expr, $physical:expr, $old:expr) => {
            Request {
                request_type: $kind,
                physical_resource_id: $physical,
                old_properties: $old,
                request_id: $r.request_id,
                stack_id: $r.stack_id,
                logical_resource_id: $r.logical_resource_id,
                resource_type: $r.resource_type,
                properties: $r.resource_properties,
                response_url: $r.response_url,
                guard_at: None,
            }
        };
    }
    let request = match request {
        CfnRequest::Create(r) => request!(r, RequestType::Create, None, None),
        CfnRequest::Update(r) => request!(
            r,
            RequestType::Update,
            Some(r.physical_resource_id),
            Some(r.old_resource_properties)
        ),
        CfnRequest::Delete(r) => {
            request!(r, RequestType::Delete, Some(r.physical_resource_id), None)
        }
        _ => return Err("malformed CloudFormation event: unknown RequestType".to_owned()),
    };
    if request.request_type != RequestType::Create
        && request
            .physical_resource_id
            .as_deref()
            .is_none_or(str::is_empty)
    {
        return Err(format!(
            "malformed CloudFormation event: a {} request needs a PhysicalResourceId",
            request.request_type.as_str()
        ));
    }
    Ok(request)
}

/// A presigned URL's query string is its credential; logs get `scheme://host/path?***`.
pub fn redact_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    // Drop any userinfo as well: `https://user:pass@host/...`.
    let cleaned = match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => without_query.to_owned(),
    };
    if url.len() > without_query.len() {
        format!("{cleaned}?***")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create_event() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:p",
            "ResponseURL": "https://cfn.s3.amazonaws.com/arn%3Aaws/x?X-Amz-Signature=abc&X-Amz-Credential=AKIA",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid",
            "RequestId": "r-1",
            "ResourceType": "Custom::LogGroup",
            "LogicalResourceId": "Logs",
            "ResourceProperties": {"ServiceToken": "arn", "ServiceTimeout": "60", "Environment": "dev"}
        })
    }

    #[test]
    fn decodes_create_with_service_timeout() {
        let request = decode(create_event()).expect("decodes");
        assert_eq!(request.request_type, RequestType::Create);
        assert_eq!(request.resource_type, "Custom::LogGroup");
        assert_eq!(request.properties["ServiceTimeout"], "60");
        assert!(request.physical_resource_id.is_none());
    }

    #[test]
    fn tolerates_fields_it_does_not_know() {
        let mut event = create_event();
        event["SomethingNew"] = json!({"x": 1});
        assert!(decode(event).is_ok());
    }

    #[test]
    fn update_needs_a_physical_id() {
        let mut event = create_event();
        event["RequestType"] = json!("Update");
        event["OldResourceProperties"] = json!({});
        event["PhysicalResourceId"] = json!("");
        let err = decode(event).expect_err("no id");
        assert!(err.contains("PhysicalResourceId"), "{err}");
    }

    #[test]
    fn envelope_survives_a_broken_event() {
        let event = json!({"ResponseURL": "http://x/y?sig", "RequestType": 7, "RequestId": "r"});
        let envelope = envelope(&event).expect("has url");
        assert_eq!(envelope.request_id, "r");
        assert!(decode(event).is_err());
    }

    #[test]
    fn no_response_url_is_not_a_custom_resource_event() {
        let err = envelope(&json!({"detail-type": "Scheduled Event"})).expect_err("no url");
        assert!(err.to_string().contains("detail-type"), "{err}");
        let err = envelope(&json!([1])).expect_err("list");
        assert!(err.to_string().contains("a JSON list"), "{err}");
    }

    #[test]
    fn redaction_removes_query_and_userinfo() {
        assert_eq!(
            redact_url("https://b.s3.amazonaws.com/p/q?X-Amz-Signature=s&X-Amz-Credential=c"),
            "https://b.s3.amazonaws.com/p/q?***"
        );
        assert_eq!(
            redact_url("http://u:p@127.0.0.1:9/r"),
            "http://127.0.0.1:9/r"
        );
        let request = decode(create_event()).expect("decodes");
        let shown = format!("{request:?}");
        assert!(!shown.contains("Signature"), "{shown}");
    }

    proptest::proptest! {
        /// Any value in any envelope field: the envelope and the request decode or fail with
        /// a message, and a decoded request's Debug output never shows the URL's query.
        #[test]
        fn any_value_in_any_event_field_decodes_or_fails_cleanly(
            value in crate::test_support::any_json(),
            field in proptest::sample::select(vec!["RequestType", "ResponseURL", "StackId", "RequestId",
                "ResourceType", "LogicalResourceId", "PhysicalResourceId", "ResourceProperties",
                "OldResourceProperties", "ServiceToken"]),
        ) {
            let mut event = create_event();
            event[field] = value;
            let _ = envelope(&event);
            if let Ok(request) = decode(event) {
                let shown = format!("{request:?}");
                proptest::prop_assert!(!shown.contains("X-Amz-Signature=abc"), "{}", shown);
            }
        }

        #[test]
        fn any_json_as_a_whole_event_never_panics(event in crate::test_support::any_json()) {
            let _ = envelope(&event);
            let _ = decode(event);
        }
    }
}
