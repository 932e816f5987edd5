#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logging, the SDK clients built once (on the first event), then lambda_runtime::run.
    shared::function::run_function(
        key_auditor::KeyAuditor::from_config,
        |auditor, event| async move { auditor.handle(event.payload).await },
    )
    .await
}
