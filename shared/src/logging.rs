//! JSON logs through `tracing`, one object per line, as Lambda's JSON log format expects.

use tracing_subscriber::EnvFilter;

/// Level from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's LoggingConfig) or `RUST_LOG`; the SDK's
/// own chatter stays at warn unless asked for.
pub fn init() {
    let directives = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(format!(
        "{directives},aws_smithy_runtime=warn,aws_config=warn,hyper_util=warn,rustls=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    let installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
    if installed.is_ok() {
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "panic");
        }));
    }
}
