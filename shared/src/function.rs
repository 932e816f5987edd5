//! The runner for event-driven functions (alarm-router, key-rotator, key-auditor): JSON logs,
//! SDK clients built once on the first event with panics caught, then the Lambda loop. Work that
//! is still waiting on AWS near the Lambda deadline is abandoned with a named error, before
//! anything further is sent, instead of being killed mid-way by Lambda.

use crate::catch_unwind::set_up;
use crate::cfn::runner::{deadline_from_epoch_ms, guard_margin};
use aws_config::SdkConfig;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The error an invocation returns when the function could not set itself up.
pub fn setup_failed(message: &str) -> Diagnostic {
    Diagnostic {
        error_type: "Stackhand.SetupFailed".to_owned(),
        error_message: message.to_owned(),
    }
}

/// The error of an invocation abandoned at the deadline guard.
pub fn deadline_exceeded(margin: Duration) -> Diagnostic {
    Diagnostic {
        error_type: "Stackhand.DeadlineExceeded".to_owned(),
        error_message: format!(
            "abandoned {} ms before the Lambda deadline: AWS did not answer in time; \
             nothing was published or changed after that point",
            margin.as_millis()
        ),
    }
}

/// Runs `handler` for every event, on state `build` makes once (cheap to clone: SDK clients
/// are shared handles). Start-up stays at what the Runtime API's first poll needs; loading
/// credentials and the TLS trust store waits for the first event, and a failure there fails
/// each event with the reason instead of the process.
pub async fn run_function<S, B, H, Fut, E>(
    build: B,
    handler: H,
) -> Result<(), lambda_runtime::Error>
where
    S: Clone,
    B: Fn(&SdkConfig) -> Result<S, String>,
    H: Fn(S, LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<Value, E>>,
    E: Into<Diagnostic>,
{
    crate::logging::init();
    let state: tokio::sync::OnceCell<Result<S, String>> = tokio::sync::OnceCell::new();
    let setup = || set_up(&build);
    lambda_runtime::run(lambda_runtime::service_fn(|event: LambdaEvent<Value>| {
        let state = &state;
        let handler = &handler;
        async move {
            match state.get_or_init(setup).await {
                Ok(state) => {
                    let deadline = deadline_from_epoch_ms(event.context.deadline);
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    let margin = guard_margin(remaining).min(remaining);
                    match tokio::time::timeout_at(deadline - margin, handler(state.clone(), event))
                        .await
                    {
                        Ok(result) => result.map_err(Into::into),
                        Err(_) => {
                            tracing::error!("deadline guard fired; abandoning the work");
                            Err(deadline_exceeded(margin))
                        }
                    }
                }
                Err(message) => {
                    tracing::error!(error = %message, "setup failed");
                    Err(setup_failed(message))
                }
            }
        }
    }))
    .await
}
