use lambda_runtime::{run, service_fn};
use monitoring_provider::{MonitoringProvider, handler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    // A setup failure is kept and reported on every event, so CloudFormation still gets FAILED.
    let provider = shared::aws::load()
        .await
        .map(|config| MonitoringProvider::new(&config))
        .map_err(|err| err.to_string());
    run(service_fn(|event| handler(&provider, event))).await
}
