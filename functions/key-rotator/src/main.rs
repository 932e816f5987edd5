#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logging, the SDK client built once (on the first event), then lambda_runtime::run.
    shared::function::run_function(
        key_rotator::KeyRotator::from_config,
        |rotator, event| async move { rotator.handle(event.payload).await },
    )
    .await
}
