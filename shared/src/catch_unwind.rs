//! Turns a panic inside a handler's future into a value, so the runner can still answer; and
//! the first-event set-up both runners share.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> CatchUnwind<F> {
    pub(crate) fn new(future: F) -> Self {
        CatchUnwind(Box::pin(future))
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.get_mut().0;
        // The future is dropped right after a panic, so no broken state is observed again.
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// The text a panic was raised with.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "a non-text panic payload"
    }
}

/// Builds a function's state on its first event: the SDK config, then `build`, with an error or
/// a panic turned into the message every event is then answered with. Both runners (custom
/// resources and event functions) keep its result in a `OnceCell`.
pub(crate) async fn set_up<S>(
    build: impl FnOnce(&aws_config::SdkConfig) -> Result<S, String>,
) -> Result<S, String> {
    let built = CatchUnwind::new(async {
        match crate::aws::load().await {
            Ok(config) => build(&config),
            Err(err) => Err(err.to_string()),
        }
    })
    .await;
    built.unwrap_or_else(|panic| {
        Err(format!(
            "client setup panicked: {}",
            panic_message(panic.as_ref())
        ))
    })
}
