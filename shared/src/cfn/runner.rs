//! The runner: exactly one response for every event, whatever the handler does.

use super::event::{self, Envelope, Request, RequestType, redact_url};
use super::response::{ResponseBody, Status};
use super::sender::send_response;
use super::{FAILED_CREATE_PREFIX, Outcome, Provider};
use crate::catch_unwind::{CatchUnwind, panic_message, set_up};
use crate::error::{InvocationError, ResourceError};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use std::fmt::Display;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tracing::Instrument;

const MAX_MARGIN: Duration = Duration::from_secs(5);
const MIN_MARGIN: Duration = Duration::from_millis(200);
/// The PUT stops retrying this long before Lambda's hard stop.
const SEND_MARGIN: Duration = Duration::from_millis(100);

/// How long before the Lambda deadline the work is abandoned and FAILED sent: about 5 s, or a
/// fifth of the time when the function has less.
pub fn guard_margin(remaining: Duration) -> Duration {
    (remaining / 5).clamp(MIN_MARGIN, MAX_MARGIN)
}

pub(crate) fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// What every provider's `main` does: JSON logs, then the Lambda loop. The SDK config and
/// clients are built once, on the first event and with panics caught, so that a setup failure
/// (an error or a panic) is answered FAILED on every event instead of killing the process before
/// CloudFormation hears anything. It also keeps start-up to what the Runtime API's first poll
/// needs: loading the TLS trust store waits for the first event.
pub async fn run_provider<P: Provider>(
    build: impl Fn(&aws_config::SdkConfig) -> P,
) -> Result<(), lambda_runtime::Error> {
    crate::logging::init();
    let provider: tokio::sync::OnceCell<Result<P, String>> = tokio::sync::OnceCell::new();
    let setup = || set_up(|config| Ok(build(config)));
    lambda_runtime::run(lambda_runtime::service_fn(|event| async {
        run(provider.get_or_init(setup).await, event).await
    }))
    .await
}

/// Answers one custom-resource event. `provider` is the result of init: when client setup
/// failed there, every event is still answered, with FAILED and the setup error.
pub async fn run<P, E>(
    provider: &Result<P, E>,
    event: LambdaEvent<Value>,
) -> Result<Value, InvocationError>
where
    P: Provider,
    E: Display,
{
    let (payload, context) = event.into_parts();
    let deadline = deadline_from_epoch_ms(context.deadline);
    #[cfg(feature = "records")]
    if super::repair::is_repair(&payload) {
        let provider = provider.as_ref().map_err(|err| {
            InvocationError::RepairFailed(format!("{} could not start: {err}", P::NAME))
        })?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let guard_at = deadline - guard_margin(remaining).min(remaining);
        let span = tracing::info_span!("drift_repair");
        return Box::pin(super::repair::repair(provider, &payload, guard_at))
            .instrument(span)
            .await;
    }
    let envelope = match event::envelope(&payload) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::error!(error = %err, "cannot answer: no ResponseURL");
            return Err(err);
        }
    };
    let span = tracing::info_span!(
        "custom_resource",
        RequestType = envelope.request_type.as_deref().unwrap_or("?"),
        ResourceType = envelope.resource_type.as_deref().unwrap_or("?"),
        LogicalResourceId = %envelope.logical_resource_id,
        RequestId = %envelope.request_id,
    );
    answer(provider, payload, envelope, deadline)
        .instrument(span)
        .await
}

async fn answer<P, E>(
    provider: &Result<P, E>,
    payload: Value,
    envelope: Envelope,
    deadline: Instant,
) -> Result<Value, InvocationError>
where
    P: Provider,
    E: Display,
{
    let remaining = deadline.saturating_duration_since(Instant::now());
    tracing::info!(
        response_url = %redact_url(&envelope.response_url),
        remaining_ms = remaining.as_millis() as u64,
        "request received"
    );
    let guard_at = deadline - guard_margin(remaining).min(remaining);
    let (request_type, result) = match event::decode(payload) {
        Ok(mut request) => {
            request.guard_at = Some(guard_at);
            let result = work(provider, &request, guard_at).await;
            #[cfg(feature = "records")]
            if let (Ok(provider), Ok(outcome)) = (provider, &result) {
                // Boxed: the SDK's nested futures would otherwise overflow the layout depth limit.
                Box::pin(record(provider, &request, outcome, guard_at)).await;
            }
            (Some(request.request_type), result)
        }
        Err(reason) => (None, Err(reason)),
    };
    let body = response_body(&envelope, request_type, result);
    tracing::info!(
        status = ?body.status,
        physical_resource_id = %body.physical_resource_id,
        reason = %body.reason,
        "answering"
    );
    let (body, bytes) = body.into_bytes();
    let give_up_at = deadline.checked_sub(SEND_MARGIN).unwrap_or(deadline);
    match send_response(&envelope.response_url, bytes, give_up_at).await {
        Ok(_) => Ok(json!({
            "Status": body.status,
            "PhysicalResourceId": body.physical_resource_id,
            "Reason": body.reason,
            "Data": if body.no_echo { json!("***") } else { json!(body.data) },
        })),
        Err(err) => {
            tracing::error!(error = %err, "response not delivered");
            Err(InvocationError::ResponseNotDelivered(err))
        }
    }
}

/// Records what a successful request applied, for drift detection (`crate::records`). A
/// record that cannot be written is logged, never answered: the resource itself is in place.
#[cfg(feature = "records")]
async fn record<P: Provider>(
    provider: &P,
    request: &Request,
    outcome: &Outcome,
    guard_at: Instant,
) {
    let Some(records) = provider.records() else {
        return;
    };
    let id = outcome.physical_resource_id.as_str();
    if id.starts_with(FAILED_CREATE_PREFIX) {
        return;
    }
    let written = match request.request_type {
        RequestType::Create | RequestType::Update => {
            let now = aws_smithy_types::DateTime::from(SystemTime::now())
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default();
            let record = crate::records::Record::of(request, id, now);
            tokio::time::timeout_at(guard_at, records.put(&record)).await
        }
        RequestType::Delete => {
            let removed = records.remove(&request.stack_id, &request.logical_resource_id, id);
            tokio::time::timeout_at(guard_at, removed).await
        }
    };
    match written {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "the drift record was not written"),
        Err(_) => tracing::warn!(
            table = records.table(),
            "the drift record was not written before the deadline guard"
        ),
    }
}

/// Runs the handler under the deadline guard, with panics caught.
async fn work<P, E>(
    provider: &Result<P, E>,
    request: &Request,
    guard_at: Instant,
) -> Result<Outcome, String>
where
    P: Provider,
    E: Display,
{
    if request.request_type == RequestType::Delete
        && let Some(id) = request.physical_resource_id.as_deref()
        && id.starts_with(FAILED_CREATE_PREFIX)
    {
        // Never fails: a rollback must not get stuck on what a failed Create left behind.
        if let Ok(provider) = provider
            && P::RESOURCE_TYPES.contains(&request.resource_type.as_str())
        {
            let cleaned = tokio::select! {
                cleaned = CatchUnwind::new(provider.handle(request)) => {
                    cleaned.map(|result| result.map_err(|err| err.to_string()))
                }
                () = tokio::time::sleep_until(guard_at) => {
                    Ok(Err("stopped at the deadline guard".to_owned()))
                }
            };
            match cleaned {
                Ok(Ok(_)) => tracing::info!(
                    "Delete of a failed Create: anything it left half-made was removed"
                ),
                Ok(Err(err)) => {
                    tracing::error!(error = %err, "Delete of a failed Create: what it left could not be removed; the error names it")
                }
                Err(panic) => {
                    tracing::error!(panic = %panic_message(panic.as_ref()), "Delete of a failed Create panicked")
                }
            }
        }
        return Ok(Outcome::new(id));
    }
    let provider = match provider {
        Ok(provider) => provider,
        Err(err) => return Err(format!("{} could not start: {err}", P::NAME)),
    };
    if !P::RESOURCE_TYPES.contains(&request.resource_type.as_str()) {
        return Err(ResourceError::unsupported::<P>(request).to_string());
    }
    let handled = tokio::select! {
        handled = CatchUnwind::new(provider.handle(request)) => handled,
        () = tokio::time::sleep_until(guard_at) => {
            tracing::error!("deadline guard fired; abandoning the work");
            return Err(format!(
                "{}: {} did not finish before the Lambda timeout and was stopped; \
                 check the function's timeout and the AWS endpoint's health",
                request.resource_type,
                request.request_type.as_str()
            ));
        }
    };
    match handled {
        Ok(Ok(outcome)) if outcome.physical_resource_id.is_empty() => Err(format!(
            "{}: the provider returned no PhysicalResourceId",
            request.resource_type
        )),
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(err)) => Err(err.to_string()),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "handler panicked");
            Err(format!(
                "{}: internal error in {} ({message}); nothing further was done",
                request.resource_type,
                P::NAME
            ))
        }
    }
}

fn response_body(
    envelope: &Envelope,
    request_type: Option<RequestType>,
    result: Result<Outcome, String>,
) -> ResponseBody {
    let failed_create_id = || format!("{FAILED_CREATE_PREFIX}{}", envelope.request_id);
    // A success whose Data cannot be sent is a failure, and keeps the failure's id.
    let result = result.and_then(|outcome| {
        let body = body_of(envelope, Status::Success, String::new(), outcome.clone());
        body.data_overflow().map_or(Ok(outcome), Err)
    });
    let (status, reason, outcome) = match result {
        Ok(outcome) => (Status::Success, String::from("OK"), outcome),
        Err(reason) => {
            // Create, or a request too broken to tell: the marker, so the rollback Delete
            // touches nothing. Otherwise the resource keeps the id it has.
            let physical_id = match (request_type, &envelope.physical_resource_id) {
                (Some(RequestType::Create), _) | (_, None) => failed_create_id(),
                (_, Some(existing)) => existing.clone(),
            };
            (Status::Failed, reason, Outcome::new(physical_id))
        }
    };
    body_of(envelope, status, reason, outcome)
}

fn body_of(envelope: &Envelope, status: Status, reason: String, outcome: Outcome) -> ResponseBody {
    ResponseBody {
        status,
        reason,
        physical_resource_id: outcome.physical_resource_id,
        stack_id: envelope.stack_id.clone(),
        request_id: envelope.request_id.clone(),
        logical_resource_id: envelope.logical_resource_id.clone(),
        no_echo: outcome.no_echo,
        data: outcome.data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(request_type: &str, physical_id: Option<&str>) -> Envelope {
        Envelope {
            response_url: "https://cfn.example/r".to_owned(),
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/s/g".to_owned(),
            request_id: "r-1".to_owned(),
            logical_resource_id: "Big".to_owned(),
            physical_resource_id: physical_id.map(str::to_owned),
            request_type: Some(request_type.to_owned()),
            resource_type: Some("Custom::Big".to_owned()),
        }
    }

    #[test]
    fn data_too_large_fails_under_the_failed_request_id_rule() {
        let big = Outcome::new("new-id").with("Names", "x".repeat(5000));
        let create = response_body(
            &envelope("Create", None),
            Some(RequestType::Create),
            Ok(big.clone()),
        );
        assert_eq!(create.status, Status::Failed);
        assert_eq!(create.physical_resource_id, "stackhand:create-failed:r-1");
        assert!(
            create.reason.contains("largest attribute is Names"),
            "{}",
            create.reason
        );
        assert!(create.data.is_empty());
        let update = response_body(
            &envelope("Update", Some("old-id")),
            Some(RequestType::Update),
            Ok(big),
        );
        assert_eq!(update.status, Status::Failed);
        assert_eq!(
            update.physical_resource_id, "old-id",
            "a failed Update keeps its id"
        );
    }

    #[test]
    fn margin_is_about_five_seconds_and_shorter_when_time_is_short() {
        assert_eq!(
            guard_margin(Duration::from_secs(300)),
            Duration::from_secs(5)
        );
        assert_eq!(guard_margin(Duration::from_secs(5)), Duration::from_secs(1));
        assert_eq!(guard_margin(Duration::from_millis(100)), MIN_MARGIN);
    }
}
