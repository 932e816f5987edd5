//! A provider whose handler always panics. The release-build test runs it under a local Runtime
//! API to prove that, with `panic = "unwind"`, CloudFormation still gets FAILED.

use lambda_runtime::{run, service_fn};
use shared::ResourceError;
use shared::cfn::{Outcome, Provider, Request};

struct Panicking;

impl Provider for Panicking {
    const NAME: &'static str = "panicking-provider";
    const RESOURCE_TYPES: &'static [&'static str] = &["Custom::Panic"];

    async fn handle(&self, request: &Request) -> Result<Outcome, ResourceError> {
        panic!(
            "deliberate panic while handling {}",
            request.logical_resource_id
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init();
    let provider: Result<Panicking, String> = Ok(Panicking);
    run(service_fn(|event| shared::cfn::run(&provider, event))).await
}
