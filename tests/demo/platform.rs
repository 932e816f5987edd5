//! The functions of the platform, each a real release binary polling its own local Lambda
//! Runtime API, and the two ways the demo drives them: a CloudFormation custom-resource event
//! (answered on the ResponseURL listener) and a plain event (answered through the Runtime API).

use crate::ui::{Report, shorten};
use e2e::{
    Account, CfnEvents, Completion, FunctionProcess, RecordedPut, ResponseListener, RuntimeApi,
    binary,
};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(60);

struct Function {
    api: RuntimeApi,
    _process: FunctionProcess,
}

pub struct Platform {
    pub account: Account,
    pub listener: ResponseListener,
    pub events: CfnEvents,
    functions: HashMap<&'static str, Function>,
}

impl Platform {
    pub fn new(account: Account, listener: ResponseListener, stack: &str) -> Platform {
        Platform {
            events: CfnEvents::new(account.stack_id(stack), listener.clone()),
            account,
            listener,
            functions: HashMap::new(),
        }
    }

    /// Starts `name` (target/release/<name>) with the account's environment plus `extra`, and
    /// prints how long it took to reach the Runtime API.
    pub async fn start(&mut self, report: &Report, name: &'static str, extra: &[(&str, String)]) {
        let api = RuntimeApi::start().await;
        let mut env = self.account.lambda_env();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let process = api.spawn(&binary("release", name), &env);
        match api.first_poll(Duration::from_secs(10)).await {
            Some(t) => report.line(
                "function",
                &format!(
                    "{name}: first Runtime API poll {:.1} ms after exec",
                    (t - process.started).as_micros() as f64 / 1000.0
                ),
            ),
            None => report.line(
                "function",
                &report
                    .style
                    .bad(&format!("{name} did not poll the Runtime API")),
            ),
        }
        self.functions.insert(
            name,
            Function {
                api,
                _process: process,
            },
        );
    }

    /// Sends a custom-resource event to `function` and prints the answer and its attributes.
    pub async fn custom(
        &self,
        report: &mut Report,
        function: &str,
        step: &str,
        asked: &str,
        (event, request_id): (Value, String),
        expect: &str,
    ) -> Option<RecordedPut> {
        report.begin(step, asked);
        let started = Instant::now();
        let Some(f) = self.functions.get(function) else {
            report.finish(step, false, 0, format!("{function} is not running"));
            return None;
        };
        let put = match f.api.invoke(event, TIMEOUT).await {
            Completion::Response(_) => Some(self.listener.response(&request_id, TIMEOUT).await),
            Completion::Error(err) => {
                report.line("error", &report.style.bad(&err.to_string()));
                None
            }
        };
        let millis = started.elapsed().as_millis();
        let (passed, detail) = match &put {
            Some(put) => {
                report.line(
                    "answer",
                    &format!("{} PhysicalResourceId {}", put.status(), put.physical_id()),
                );
                if put.status() != "SUCCESS" {
                    report.line("reason", put.reason());
                }
                if let Some(data) = put.body["Data"].as_object() {
                    for (k, v) in data
                        .iter()
                        .filter(|(_, v)| v.as_str().is_some_and(|s| !s.is_empty()))
                    {
                        report.line(k, &shorten(v.as_str().unwrap_or_default()));
                    }
                }
                (
                    put.status() == expect,
                    format!("{} {}", put.status(), put.physical_id()),
                )
            }
            None => (false, "no response".to_owned()),
        };
        report.finish(step, passed, millis, detail);
        put
    }

    /// Invokes an event function and returns its output (or prints its error).
    pub async fn invoke(
        &self,
        report: &mut Report,
        function: &str,
        step: &str,
        asked: &str,
        event: Value,
    ) -> Option<Value> {
        report.begin(step, asked);
        let started = Instant::now();
        let Some(f) = self.functions.get(function) else {
            report.finish(step, false, 0, format!("{function} is not running"));
            return None;
        };
        let completion = f.api.invoke(event, TIMEOUT).await;
        let millis = started.elapsed().as_millis();
        match completion {
            Completion::Response(output) => {
                report.finish(step, true, millis, "answered".to_owned());
                Some(output)
            }
            Completion::Error(err) => {
                report.line("error", &report.style.bad(&err.to_string()));
                report.finish(step, false, millis, "error".to_owned());
                None
            }
        }
    }
}
