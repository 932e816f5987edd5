//! `make demo`: the seed platform's whole lifecycle on the local emulator, through the real
//! release binaries under local Lambda Runtime APIs, as Lambda and CloudFormation would drive
//! them: security, monitoring and compute layers, an alarm routed to SNS, key rotation and
//! audit, an Update to the next environment, and the teardown.

mod platform;
mod scenario;
mod ui;

use std::process::ExitCode;
use tokio::time::Instant;

const USAGE: &str = "usage: demo [--env dev|qa|uat|prod]

Runs the seed platform's lifecycle against the local emulator (no AWS account): the KmsKeySet,
alert topics, an encrypted log group, the alarm baseline and a dashboard, the ECS cluster; an
alarm routed by alarm-router to an SQS subscription; key-rotator (dry, then for real) and
key-auditor; an Update to the next environment (dev -> qa -> uat -> prod; prod gains a service);
and the Deletes. Prints each step, then a summary; exits non-zero if any step failed.";

fn parse_env() -> Result<shared::Environment, String> {
    let mut args = std::env::args().skip(1);
    let mut env = "dev".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--env" => env = args.next().ok_or("--env needs a value")?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    shared::Environment::parse(&env)
        .ok_or_else(|| format!("--env must be one of dev, qa, uat, prod, got {env}"))
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
    let started = Instant::now();
    let mut report = ui::Report::new(scenario::STEPS);
    println!(
        "{}",
        report.style.heading(&format!(
            "stackhand demo: the seed platform, Environment={env}"
        ))
    );
    // Every process the demo starts dies with it: the functions when their Runtime API goes,
    // the emulator through --exit-with-parent. Ctrl-C ends the run the same way.
    let outcome = tokio::select! {
        _ = scenario::run(&mut report, env) => None,
        _ = tokio::signal::ctrl_c() => Some(ExitCode::from(130)),
    };
    if let Some(code) = outcome {
        println!("\ninterrupted; everything the demo started is stopped");
        return code;
    }
    report.summary(started.elapsed().as_millis());
    if report.failed() == 0 && report.steps.len() == scenario::STEPS {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
