//! `make demo`: the Custom::LogGroup lifecycle on the local emulator, driven through the real
//! release binary and a local Lambda Runtime API, exactly as Lambda and CloudFormation would.

use e2e::{CfnEvents, Completion, RecordedPut, ResponseListener, RuntimeApi, binary, emulator};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

const TIMEOUT: Duration = Duration::from_secs(60);
const USAGE: &str = "usage: demo [--env dev|qa|uat|prod]

Runs the Custom::LogGroup lifecycle against the local emulator: Create, an in-place Update, a
replacement, a rejected bad input, and the Deletes, printing each step and a summary. The
environment profile decides retention, encryption and whether Delete keeps the group.";

struct Style {
    colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn heading(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn ok(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

struct Step {
    name: String,
    passed: bool,
    millis: u128,
    detail: String,
}

struct Demo {
    style: Style,
    api: RuntimeApi,
    listener: ResponseListener,
    events: CfnEvents,
    logs: aws_sdk_cloudwatchlogs::Client,
    steps: Vec<Step>,
    total: usize,
}

impl Demo {
    fn progress(&self) -> String {
        format!("[{}/{}]", self.steps.len() + 1, self.total)
    }

    /// Sends one event, prints what was asked and what came back, and records the step.
    async fn step(
        &mut self,
        name: &str,
        asked: &str,
        (event, request_id): (Value, String),
        expect: &str,
    ) -> Option<RecordedPut> {
        println!(
            "\n{} {}",
            self.style.dim(&self.progress()),
            self.style.heading(name)
        );
        println!("  asked:    {asked}");
        let started = Instant::now();
        let completion = self.api.invoke(event, TIMEOUT).await;
        let put = match completion {
            Completion::Response(_) => Some(self.listener.response(&request_id, TIMEOUT).await),
            Completion::Error(err) => {
                println!("  {}", self.style.bad(&format!("function error: {err}")));
                None
            }
        };
        let millis = started.elapsed().as_millis();
        let (passed, detail) = match &put {
            Some(put) => {
                let status = put.status();
                let shown = if status == "SUCCESS" {
                    self.style.ok(status)
                } else {
                    self.style.bad(status)
                };
                println!(
                    "  answered: {shown} in {millis} ms, PhysicalResourceId {}",
                    put.physical_id()
                );
                if status != "SUCCESS" {
                    println!("  reason:   {}", put.reason());
                }
                if let Some(data) = put.body["Data"].as_object().filter(|d| !d.is_empty()) {
                    for (k, v) in data {
                        println!(
                            "  {:<9} {}",
                            format!("{k}:"),
                            v.as_str().unwrap_or_default()
                        );
                    }
                }
                (status == expect, format!("{status} {}", put.physical_id()))
            }
            None => (false, "no response".to_owned()),
        };
        self.steps.push(Step {
            name: name.to_owned(),
            passed,
            millis,
            detail,
        });
        put
    }

    /// Prints what the emulator holds for `name`, as a user would check it in the console.
    async fn show_group(&self, name: &str) {
        let found = self
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .ok()
            .and_then(|out| {
                out.log_groups()
                    .iter()
                    .find(|g| g.log_group_name() == Some(name))
                    .cloned()
            });
        match found {
            Some(group) => {
                let tags = self
                    .logs
                    .list_tags_for_resource()
                    .resource_arn(group.log_group_arn().unwrap_or_default())
                    .send()
                    .await
                    .ok()
                    .and_then(|t| t.tags().cloned())
                    .unwrap_or_default();
                let mut tags: Vec<String> = tags
                    .iter()
                    .filter(|(k, _)| !k.starts_with("stackhand:stack"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                tags.sort();
                println!(
                    "  in AWS:   {name}: retention {} days, KMS {}, tags [{}]",
                    group
                        .retention_in_days()
                        .map_or("never-expire".to_owned(), |d| d.to_string()),
                    group.kms_key_id().unwrap_or("none"),
                    tags.join(", ")
                );
            }
            None => println!("  in AWS:   {name} does not exist"),
        }
    }
}

fn parse_env() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut env = "dev".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--env" => env = args.next().ok_or("--env needs a value")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if shared::Environment::parse(&env).is_none() {
        return Err(format!(
            "--env must be one of dev, qa, uat, prod, got {env}"
        ));
    }
    Ok(env)
}

#[tokio::main]
async fn main() -> ExitCode {
    let env = match parse_env() {
        Ok(env) => env,
        Err(problem) => {
            if !problem.is_empty() {
                eprintln!("demo: {problem}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let style = Style {
        colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    println!(
        "{}",
        style.heading(&format!(
            "stackhand demo: Custom::LogGroup lifecycle, Environment={env}"
        ))
    );

    let started = Instant::now();
    let emulator = emulator();
    println!(
        "  emulator: moto + stackhand extension at {} ({} ms)",
        emulator.endpoint,
        started.elapsed().as_millis()
    );
    let account = emulator.new_account().await;
    println!(
        "  account:  {} (isolated through STS AssumeRole)",
        account.id
    );
    let listener = ResponseListener::start().await;
    let api = RuntimeApi::start().await;
    let function = api.spawn(
        &binary("release", "monitoring-provider"),
        &account.lambda_env(),
    );
    let cold_start = api
        .first_poll(Duration::from_secs(10))
        .await
        .map(|t| (t - function.started).as_micros());
    match cold_start {
        Some(us) => println!(
            "  function: target/release/monitoring-provider polled the Runtime API {:.1} ms after exec",
            us as f64 / 1000.0
        ),
        None => println!("  {}", style.bad("function: did not poll the Runtime API")),
    }

    let mut demo = Demo {
        style,
        events: CfnEvents::new(
            account.stack_id(&format!("stackhand-demo-{env}")),
            listener.clone(),
        ),
        logs: aws_sdk_cloudwatchlogs::Client::new(&account.config),
        api,
        listener,
        steps: Vec::new(),
        total: 6,
    };
    let key = format!(
        "arn:aws:kms:us-east-1:{}:key/5eed0000-demo-4000-8000-000000000001",
        account.id
    );
    let encrypted =
        shared::Environment::parse(&env).is_some_and(|e| e.profile().encryption_required);
    let with_key = |mut props: Value| {
        if encrypted {
            props["KmsKeyArn"] = json!(key);
        }
        props
    };

    let v1 = with_key(
        json!({"Environment": env, "LogGroupName": "/demo/orders", "Tags": [{"Key": "team", "Value": "orders"}]}),
    );
    let event = demo
        .events
        .create("Custom::LogGroup", "OrdersLogs", v1.clone());
    demo.step(
        "Create Custom::LogGroup /demo/orders",
        "the profile's retention and encryption, a team tag",
        event,
        "SUCCESS",
    )
    .await;
    demo.show_group("/demo/orders").await;

    let v2 = with_key(
        json!({"Environment": env, "LogGroupName": "/demo/orders", "RetentionInDays": "365", "Tags": [{"Key": "team", "Value": "orders"}, {"Key": "cost-centre", "Value": "42"}]}),
    );
    let event = demo.events.update(
        "Custom::LogGroup",
        "OrdersLogs",
        "/demo/orders",
        v1,
        v2.clone(),
    );
    demo.step(
        "Update in place",
        "RetentionInDays \"365\" (a string, as CloudFormation sends it), one more tag",
        event,
        "SUCCESS",
    )
    .await;
    demo.show_group("/demo/orders").await;

    let v3 = with_key(json!({"Environment": env, "LogGroupName": "/demo/orders-v2"}));
    let event = demo.events.update(
        "Custom::LogGroup",
        "OrdersLogs",
        "/demo/orders",
        v2.clone(),
        v3.clone(),
    );
    demo.step(
        "Update with a new LogGroupName (replacement)",
        "LogGroupName /demo/orders-v2: a new group, a new physical id",
        event,
        "SUCCESS",
    )
    .await;
    demo.show_group("/demo/orders-v2").await;

    let event = demo
        .events
        .delete("Custom::LogGroup", "OrdersLogs", "/demo/orders", v2);
    demo.step(
        "Delete the replaced group",
        "CloudFormation's cleanup of the old physical id",
        event,
        "SUCCESS",
    )
    .await;
    demo.show_group("/demo/orders").await;

    let bad =
        with_key(json!({"Environment": env, "LogGroupName": "/demo/bad", "RetentionInDays": 31}));
    let event = demo.events.create("Custom::LogGroup", "BadLogs", bad);
    demo.step(
        "Create with a bad value (expected to fail)",
        "RetentionInDays 31, which CloudWatch does not allow",
        event,
        "FAILED",
    )
    .await;
    demo.show_group("/demo/bad").await;

    let event = demo
        .events
        .delete("Custom::LogGroup", "OrdersLogs", "/demo/orders-v2", v3);
    demo.step(
        "Delete the stack",
        "the profile decides: delete in dev/qa, retain in uat/prod",
        event,
        "SUCCESS",
    )
    .await;
    demo.show_group("/demo/orders-v2").await;

    drop(function);
    println!("\n{}", demo.style.heading("Summary"));
    println!("  {:<48} {:>8}  {:<6} answer", "step", "ms", "result");
    for step in &demo.steps {
        let result = if step.passed {
            demo.style.ok("ok    ")
        } else {
            demo.style.bad("FAILED")
        };
        println!(
            "  {:<48} {:>8}  {result} {}",
            step.name, step.millis, step.detail
        );
    }
    let failed = demo.steps.iter().filter(|s| !s.passed).count();
    println!(
        "\n{} passed, {} failed ({} ms in all)",
        demo.steps.len() - failed,
        failed,
        started.elapsed().as_millis()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
