//! JSON logs through `tracing`, one object per line, as Lambda's JSON log format expects.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Level from `RUST_LOG`, or `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's LoggingConfig); the SDK's
/// own chatter stays at warn.
fn filter() -> EnvFilter {
    let directives = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".to_owned());
    EnvFilter::try_new(format!(
        "{directives},aws_smithy_runtime=warn,aws_config=warn,hyper_util=warn,rustls=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The subscriber every function uses; tests pass their own writer to read the same lines.
/// The span fields (RequestType, ResourceType, LogicalResourceId, RequestId) go on every line.
pub fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout, and logs panics through it.
pub fn init() {
    if tracing::subscriber::set_global_default(subscriber(std::io::stdout)).is_ok() {
        std::panic::set_hook(Box::new(|info| {
            tracing::error!(panic = %info, "panic");
        }));
    }
}
