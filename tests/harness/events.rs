//! CloudFormation custom-resource events, shaped as CloudFormation sends them.

use crate::listener::ResponseListener;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::InvocationError;
use shared::cfn::Provider;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Events for one stack, answered on `listener`.
#[derive(Clone)]
pub struct CfnEvents {
    pub stack_id: String,
    pub listener: ResponseListener,
}

pub fn new_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:08x}-5eed-4c0d-9e00-{:012x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl CfnEvents {
    pub fn new(stack_id: String, listener: ResponseListener) -> Self {
        CfnEvents { stack_id, listener }
    }

    fn base(
        &self,
        request_type: &str,
        resource_type: &str,
        logical_id: &str,
        request_id: &str,
    ) -> Value {
        json!({
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:000000000000:function:stackhand",
            "ResponseURL": self.listener.url(request_id),
            "StackId": self.stack_id,
            "RequestId": request_id,
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
        })
    }

    fn with_token(mut props: Value) -> Value {
        if let Some(map) = props.as_object_mut() {
            map.insert(
                "ServiceToken".into(),
                json!("arn:aws:lambda:us-east-1:000000000000:function:stackhand"),
            );
            map.insert("ServiceTimeout".into(), json!("300"));
        }
        props
    }

    /// A Create event and its RequestId.
    pub fn create(&self, resource_type: &str, logical_id: &str, props: Value) -> (Value, String) {
        let request_id = new_request_id();
        let mut event = self.base("Create", resource_type, logical_id, &request_id);
        event["ResourceProperties"] = Self::with_token(props);
        (event, request_id)
    }

    pub fn update(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        old: Value,
        new: Value,
    ) -> (Value, String) {
        let request_id = new_request_id();
        let mut event = self.base("Update", resource_type, logical_id, &request_id);
        event["PhysicalResourceId"] = json!(physical_id);
        event["ResourceProperties"] = Self::with_token(new);
        event["OldResourceProperties"] = Self::with_token(old);
        (event, request_id)
    }

    pub fn delete(
        &self,
        resource_type: &str,
        logical_id: &str,
        physical_id: &str,
        props: Value,
    ) -> (Value, String) {
        let request_id = new_request_id();
        let mut event = self.base("Delete", resource_type, logical_id, &request_id);
        event["PhysicalResourceId"] = json!(physical_id);
        event["ResourceProperties"] = Self::with_token(props);
        (event, request_id)
    }
}

/// Calls the handler as Lambda would, with a deadline `timeout` from now.
pub async fn invoke_in_process<P: Provider>(
    provider: &Result<P, String>,
    event: Value,
    timeout: Duration,
) -> Result<Value, InvocationError> {
    let mut context = Context::default();
    context.request_id = new_request_id();
    context.deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        + timeout.as_millis() as u64;
    shared::cfn::run(provider, LambdaEvent::new(event, context)).await
}
