//! A provider whose handler always panics, or, with `PANIC_IN_SETUP=1`, whose client setup
//! panics. The release-build tests run it under a local Runtime API to prove that, with
//! `panic = "unwind"`, CloudFormation still gets FAILED either way.

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
    let panic_in_setup = std::env::var_os("PANIC_IN_SETUP").is_some();
    shared::cfn::run_provider(|_config| {
        if panic_in_setup {
            panic!("deliberate panic while building the clients");
        }
        Panicking
    })
    .await
}
