//! Repair: drift-detector asks a provider to put back what a resource's stack last applied. The
//! event names the record only (`{"stackhandRepair": {"stackId", "logicalResourceId"}}`): the
//! provider reads the properties from its own record, so a repair can apply nothing the stack
//! did not. It runs the Update the record stands for, through the type's own plan and apply,
//! after checking again that [`super::repairable`] allows it.

use super::{Provider, repairable};
use crate::catch_unwind::{CatchUnwind, panic_message};
use crate::error::InvocationError;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

/// The field of a repair event.
pub const REPAIR_EVENT: &str = "stackhandRepair";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RepairOf {
    stack_id: String,
    logical_resource_id: String,
}

/// Whether `event` asks for a repair rather than a custom-resource request.
pub fn is_repair(event: &Value) -> bool {
    event.get(REPAIR_EVENT).is_some()
}

/// Repairs the recorded resource `event` names; answers what it found and whether it repaired.
pub async fn repair<P: Provider>(
    provider: &P,
    event: &Value,
    guard_at: Instant,
) -> Result<Value, InvocationError> {
    let refused = |why: String| InvocationError::RepairRefused(why);
    let of: RepairOf = serde_json::from_value(event[REPAIR_EVENT].clone()).map_err(|err| {
        refused(format!(
            "{REPAIR_EVENT} must be {{\"stackId\", \"logicalResourceId\"}}: {err}"
        ))
    })?;
    let Some(records) = provider.records() else {
        return Err(refused(format!(
            "{} has no drift records (RECORDS_TABLE is not set)",
            P::NAME
        )));
    };
    let record = records
        .get(&of.stack_id, &of.logical_resource_id)
        .await
        .map_err(|err| InvocationError::RepairFailed(err.to_string()))?
        .ok_or_else(|| {
            refused(format!(
                "no drift record for {} in stack {}",
                of.logical_resource_id, of.stack_id
            ))
        })?;
    if !P::RESOURCE_TYPES.contains(&record.resource_type.as_str()) {
        return Err(refused(format!(
            "{} serves {}, not {}",
            P::NAME,
            P::RESOURCE_TYPES.join(", "),
            record.resource_type
        )));
    }
    let what = format!(
        "{} {} ({})",
        record.stack_name(),
        record.logical_id,
        record.resource_type
    );
    let mut request = record.dry_run();
    request.guard_at = Some(guard_at);
    let work = async {
        let drift = provider
            .drift(&request)
            .await
            .map_err(|err| InvocationError::RepairFailed(err.to_string()))?;
        if drift == super::Drift::InStep {
            return Ok(json!({"resource": what, "status": drift.status(), "repaired": false}));
        }
        repairable(&record.resource_type, record.environment(), &drift)
            .map_err(|why| refused(format!("{what}: {why}")))?;
        tracing::info!(logical_id = %record.logical_id, status = drift.status(), "repairing");
        let outcome = CatchUnwind::new(provider.handle(&request))
            .await
            .map_err(|panic| {
                InvocationError::RepairFailed(panic_message(panic.as_ref()).to_owned())
            })?
            .map_err(|err| InvocationError::RepairFailed(format!("{what}: {err}")))?;
        if outcome.physical_resource_id != record.physical_id {
            return Err(InvocationError::RepairFailed(format!(
                "{what}: the repair made {} where the stack holds {}; update the stack",
                outcome.physical_resource_id, record.physical_id
            )));
        }
        Ok(json!({"resource": what, "status": drift.status(), "repaired": true}))
    };
    match tokio::time::timeout_at(guard_at, work).await {
        Ok(answer) => answer,
        Err(_) => Err(InvocationError::RepairFailed(format!(
            "{what}: the repair did not finish before the Lambda timeout; what it changed stays, \
             and the next run checks again"
        ))),
    }
}
