#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Logging, the SDK client built once, then lambda_runtime::run(service_fn(..)).
    shared::cfn::run_provider(kms_provider::KmsProvider::new).await
}
