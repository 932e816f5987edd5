#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logging, the SDK clients built once (on the first event), then lambda_runtime::run.
    shared::function::run_function(
        drift_detector::DriftDetector::from_config,
        |detector, event| async move { detector.handle(event.payload).await },
    )
    .await
}
