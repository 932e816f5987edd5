//! Pacing calls to AWS's request quotas. CloudWatch allows PutMetricAlarm, PutCompositeAlarm and
//! DeleteAlarms 3 requests per second per account and Region, DescribeAlarms 9: a prod baseline
//! of dozens of alarms, or twenty custom alarms CloudFormation creates at once, is throttled, and
//! the SDK's own four attempts can run out. A [`Pacer`] keeps one process under the quota, and
//! [`Pacer::send`] waits out the throttling other processes cause; the runner's deadline guard
//! bounds both.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The error codes AWS services answer a throttled request with.
const THROTTLING_CODES: [&str; 5] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];
/// The longest pause between two tries of a throttled call.
const MAX_PAUSE: Duration = Duration::from_secs(8);

pub fn is_throttling<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code()
        .is_some_and(|code| THROTTLING_CODES.contains(&code))
}

/// Per-operation pace for one process: calls of an operation start at most `rate` a second.
#[derive(Debug)]
pub struct Pacer {
    rates: Vec<(&'static str, f64)>,
    next: Mutex<HashMap<&'static str, Instant>>,
}

impl Pacer {
    /// `rates`: requests per second, per operation; operations not named are not paced.
    pub fn new(rates: &[(&'static str, f64)]) -> Pacer {
        Pacer {
            rates: rates
                .iter()
                .filter(|(_, rate)| *rate > 0.0)
                .copied()
                .collect(),
            next: Mutex::new(HashMap::new()),
        }
    }

    fn interval(&self, operation: &str) -> Option<Duration> {
        self.rates
            .iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, rate)| Duration::from_secs_f64(1.0 / rate))
    }

    /// Waits for `operation`'s next slot.
    pub async fn wait(&self, operation: &'static str) {
        let Some(interval) = self.interval(operation) else {
            return;
        };
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.get(operation).copied().unwrap_or(now).max(now);
            next.insert(operation, slot + interval);
            slot
        };
        tokio::time::sleep_until(at).await;
    }

    /// `operation`'s requests per second; `None` when it is not paced.
    pub fn rate(&self, operation: &str) -> Option<f64> {
        self.rates
            .iter()
            .find(|(op, _)| *op == operation)
            .map(|(_, rate)| *rate)
    }

    /// How long `count` calls of `operation` take at its pace.
    pub fn time_for(&self, operation: &str, count: usize) -> Duration {
        self.interval(operation)
            .map_or(Duration::ZERO, |interval| interval * count as u32)
    }

    /// Sends `call` at `operation`'s pace; a throttling error that outlived the SDK's retries
    /// (other processes share the quota) is tried again after a growing pause.
    pub async fn send<T, E, Fut>(
        &self,
        operation: &'static str,
        mut call: impl FnMut() -> Fut,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: ProvideErrorMetadata,
    {
        let mut pause = Duration::from_millis(500);
        loop {
            self.wait(operation).await;
            match call().await {
                Err(err) if is_throttling(&err) => {
                    tracing::warn!(
                        operation,
                        pause_ms = pause.as_millis() as u64,
                        "throttled; waiting before trying again"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct Coded(ErrorMetadata);

    impl ProvideErrorMetadata for Coded {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn coded(code: &str) -> Coded {
        Coded(ErrorMetadata::builder().code(code).build())
    }

    #[tokio::test]
    async fn calls_start_at_the_operations_pace() {
        let pacer = Pacer::new(&[("PutMetricAlarm", 20.0)]);
        let started = Instant::now();
        for _ in 0..5 {
            pacer.wait("PutMetricAlarm").await;
        }
        // The first at once, then one every 50 ms.
        let paced = started.elapsed();
        assert!(paced >= Duration::from_millis(200), "{paced:?}");
        assert!(paced < Duration::from_millis(400), "{paced:?}");
        pacer.wait("ListTagsForResource").await;
        assert!(
            started.elapsed() - paced < Duration::from_millis(20),
            "not paced"
        );
        let thirty = Pacer::new(&[("PutMetricAlarm", 3.0)]).time_for("PutMetricAlarm", 30);
        assert_eq!(thirty.as_secs_f64().round(), 10.0);
    }

    #[tokio::test]
    async fn throttling_is_waited_out_and_other_errors_are_not() {
        let pacer = Pacer::new(&[]);
        let mut tries = 0;
        let out: Result<u32, Coded> = pacer
            .send("PutMetricAlarm", || {
                tries += 1;
                let answer = if tries < 3 {
                    Err(coded("Throttling"))
                } else {
                    Ok(tries)
                };
                async move { answer }
            })
            .await;
        assert_eq!(out.ok(), Some(3), "two throttles waited out");
        let mut tries = 0;
        let out: Result<u32, Coded> = pacer
            .send("PutMetricAlarm", || {
                tries += 1;
                async { Err(coded("ValidationError")) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(tries, 1);
    }
}
