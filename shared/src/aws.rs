//! AWS configuration: the standard chain (so `AWS_ENDPOINT_URL` redirects every client), with
//! explicit retries and timeouts. The SDK's defaults have no operation timeout, and a call to an
//! endpoint that never answers would otherwise hang until Lambda kills the function.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use std::time::Duration;

/// One attempt may take this long; the runner's deadline guard bounds the whole request.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum AwsSetupError {
    #[error("no AWS region configured: set AWS_REGION (Lambda sets it)")]
    NoRegion,
}

pub fn retry_config() -> RetryConfig {
    // Standard mode backs off on throttling and 5xx with jitter.
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(2))
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Applies stackhand's retry and timeout settings to any loader.
pub fn tuned(loader: ConfigLoader) -> ConfigLoader {
    loader
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

/// The configuration every function builds once at init.
pub async fn load() -> Result<SdkConfig, AwsSetupError> {
    let config = tuned(aws_config::defaults(BehaviorVersion::latest()))
        .load()
        .await;
    if config.region().is_none() {
        return Err(AwsSetupError::NoRegion);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timeout_is_set() {
        let timeouts = timeout_config();
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(timeouts.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert!(ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
    }
}
