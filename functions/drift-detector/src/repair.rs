//! Repair mode (`REPAIR=true`): each drifted resource that `shared::cfn::repairable` allows is
//! put back by the provider function that serves its type, invoked with the record's key only
//! (`shared::cfn::repair`). The detector itself holds no write permission: the providers apply
//! their own plans under their own roles, and never to what the stack did not make.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use serde::Serialize;
use serde_json::{Value, json};
use shared::error::describe_aws_error;
use shared::records::Record;

/// The provider function that serves each type, by the binary's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFunctions {
    pub kms: String,
    pub monitoring: String,
    pub ecs: String,
}

impl ProviderFunctions {
    fn for_type(&self, resource_type: &str) -> Option<&str> {
        Some(match crate::ServedBy::of(resource_type)? {
            crate::ServedBy::Kms => &self.kms,
            crate::ServedBy::Monitoring => &self.monitoring,
            crate::ServedBy::Ecs => &self.ecs,
        })
    }
}

/// One repair, made or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairOutcome {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub repaired: bool,
    /// Why not, when not: the rule that refused it, or the provider's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RepairOutcome {
    pub fn new(record: &Record, result: Result<(), String>) -> Self {
        RepairOutcome {
            stack: record.stack_name().to_owned(),
            logical_id: record.logical_id.clone(),
            resource_type: record.resource_type.clone(),
            repaired: result.is_ok(),
            reason: result.err(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Repairer {
    lambda: Client,
    functions: ProviderFunctions,
}

impl Repairer {
    pub fn new(lambda: Client, functions: ProviderFunctions) -> Self {
        Repairer { lambda, functions }
    }

    /// Asks the provider of `record`'s type to put it back; `Err` says why it did not.
    pub async fn repair(&self, record: &Record) -> Result<(), String> {
        let function = self
            .functions
            .for_type(&record.resource_type)
            .ok_or_else(|| format!("no provider serves {}", record.resource_type))?;
        let event = json!({shared::cfn::repair::REPAIR_EVENT: {
            "stackId": record.stack_id, "logicalResourceId": record.logical_id}});
        let answer = self
            .lambda
            .invoke()
            .function_name(function)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|e| format!("Invoke {function}: {}", describe_aws_error(&e)))?;
        let body: Value = answer
            .payload()
            .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
            .unwrap_or(Value::Null);
        if answer.function_error().is_some() {
            return Err(body["errorMessage"]
                .as_str()
                .map_or_else(|| body.to_string(), str::to_owned));
        }
        match body["repaired"].as_bool() {
            Some(_) => Ok(()),
            None => Err(format!("{function} answered {body}")),
        }
    }
}
