//! One function binary in its own emulator account, its AWS traffic through a fault proxy (or
//! pointed at an endpoint nothing listens on), driven through a local Lambda Runtime API the
//! way Lambda drives it, with a listener playing CloudFormation's ResponseURL.

use e2e::{
    Account, CfnEvents, Completion, Fault, FaultProxy, FunctionProcess, RecordedPut,
    ResponseListener, RuntimeApi, binary,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The Lambda timeout the binaries see: short, so that silence hits the deadline guard
/// (about 2.4 s before it) rather than the SDK's 10 s attempt timeout.
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(12);

/// The logical id every staged resource gets.
pub const LOGICAL_ID: &str = "Faulty";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Injected {
    /// Nothing listens on the endpoint.
    Refused,
    Proxied(Fault),
    /// The fault on one service's requests (its signing name: `sns`, `monitoring`); the
    /// others pass.
    OneService(&'static str, Fault),
}

/// An endpoint nothing listens on: connections are refused.
fn dead_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    format!("http://127.0.0.1:{port}")
}

pub struct Stage {
    pub account: Account,
    pub proxy: FaultProxy,
    pub listener: ResponseListener,
    pub events: CfnEvents,
    pub api: RuntimeApi,
    pub function: FunctionProcess,
}

impl Stage {
    /// `binary_name` working in `account`, with `injected` between it and the emulator, and
    /// `extra` in its environment.
    pub async fn start(
        account: Account,
        binary_name: &str,
        injected: Injected,
        extra: &[(&str, &str)],
    ) -> Stage {
        // These suites are about faults, not quotas: the account has raised alarm quotas, and
        // the function knows it (a prod baseline then fits the 12 s Lambda timeout here).
        account.raise_alarm_quotas(20).await;
        let proxy = FaultProxy::start(&account.endpoint).await;
        let endpoint = match injected {
            Injected::Refused => dead_endpoint(),
            Injected::Proxied(fault) => {
                proxy.set(fault);
                proxy.endpoint.clone()
            }
            Injected::OneService(service, fault) => {
                proxy.set_for(service, fault);
                proxy.endpoint.clone()
            }
        };
        let mut env = account.lambda_env();
        for (name, value) in &mut env {
            if name == "AWS_ENDPOINT_URL" {
                value.clone_from(&endpoint);
            }
        }
        env.push(("ALARM_WRITES_PER_SECOND".to_owned(), "60".to_owned()));
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let listener = ResponseListener::start().await;
        let api = RuntimeApi::start().await;
        let function = api.spawn(&binary("debug", binary_name), &env);
        Stage {
            events: CfnEvents::new(account.stack_id("faults"), listener.clone()),
            account,
            proxy,
            listener,
            api,
            function,
        }
    }

    /// Invokes the function with a CloudFormation event and returns how the invocation ended
    /// and the response CloudFormation accepted.
    pub async fn send(&self, (event, request_id): (Value, String)) -> (Completion, RecordedPut) {
        let completion = self.api.invoke(event, LAMBDA_TIMEOUT).await;
        let put = self
            .listener
            .response(&request_id, Duration::from_secs(1))
            .await;
        (completion, put)
    }

    /// Sends a CloudFormation event and checks the promise that holds whatever AWS does:
    /// exactly one response reaches the ResponseURL, before the Lambda deadline.
    pub async fn send_answered_once(
        &self,
        (event, request_id): (Value, String),
        what: &str,
    ) -> (Completion, RecordedPut) {
        let deadline = Instant::now() + LAMBDA_TIMEOUT;
        let answer = self.send((event, request_id.clone())).await;
        assert!(
            Instant::now() < deadline,
            "{what}: answered after the deadline"
        );
        // Nothing more may arrive after the one response.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            self.listener.puts(&request_id).len(),
            1,
            "{what}: exactly one response"
        );
        answer
    }

    /// CloudFormation's retry of the same request (same RequestId, a fresh ResponseURL).
    pub async fn resend(&self, event: &Value, request_id: &str) -> RecordedPut {
        let retried_id = format!("{request_id}-retry");
        let mut retry = event.clone();
        retry["ResponseURL"] = json!(self.listener.url(&retried_id));
        self.send((retry, retried_id)).await.1
    }

    /// CloudFormation's rollback of a FAILED Create, once AWS answers again: a Delete of the
    /// marker id it returned, with the same properties.
    pub async fn roll_back(
        &self,
        resource_type: &str,
        failed: &RecordedPut,
        props: Value,
    ) -> RecordedPut {
        self.proxy.set(Fault::Pass);
        let rollback = self
            .events
            .delete(resource_type, LOGICAL_ID, failed.physical_id(), props);
        self.send(rollback).await.1
    }
}
