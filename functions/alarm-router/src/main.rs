#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logging, the SDK clients built once (on the first event), then lambda_runtime::run.
    shared::function::run_function(
        alarm_router::AlarmRouter::from_config,
        |router, event| async move { router.handle(event.payload).await },
    )
    .await
}
