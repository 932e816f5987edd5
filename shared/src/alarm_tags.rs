//! The alarm and topic tags monitoring-provider writes and alarm-router reads, in one place
//! (the KMS tags are in `key_tags`).

/// `critical`, `warning` or `info` on an alarm (and `critical` or `standard` on an alert
/// topic): alarm-router routes by it.
pub const TAG_SEVERITY: &str = "severity";
/// The runbook URL alarm-router puts in the notification.
pub const TAG_RUNBOOK: &str = "runbook";
