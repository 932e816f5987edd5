//! One service failing while the others answer: what each event function that calls more than
//! one service still delivers. An alert must not depend on CloudWatch's read APIs, and the
//! audit's two outputs (metrics, summary) must not depend on each other.

use crate::stage::Injected;
use crate::{audit_under, route_under};
use e2e::Fault;

const DOWN: Fault = Fault::Status(500);

/// CloudWatch (the alarm's tags and history) down, SNS fine: the notification still goes out,
/// at the default severity. SNS down, CloudWatch fine: a named error and nothing published.
#[tokio::test]
async fn alarm_router_with_one_service_down() {
    for (service, label, delivered) in [
        ("monitoring", "CloudWatch 500, SNS fine", true),
        ("sns", "SNS 500, CloudWatch fine", false),
    ] {
        let run = route_under(label, Injected::OneService(service, DOWN), delivered).await;
        assert_eq!(
            run.count("Publish"),
            usize::from(delivered),
            "{label}: {:?}",
            run.calls
        );
        if !delivered {
            assert!(run.error.contains("not published"), "{}", run.error);
        }
    }
}

/// The audit completes either way; the channel that works still delivers, and the error names
/// the one that did not.
#[tokio::test]
async fn key_auditor_with_one_delivery_channel_down() {
    for (service, label, failed_call, delivered_call) in [
        ("monitoring", "CloudWatch 500", "PutMetricData", "Publish"),
        ("sns", "SNS 500", "Publish", "PutMetricData"),
    ] {
        let run = audit_under(label, Injected::OneService(service, DOWN), false).await;
        assert!(
            run.error.contains("not delivered") && run.error.contains(failed_call),
            "{label}: {}",
            run.error
        );
        assert_eq!(run.count(failed_call), 0, "{label}");
        assert_eq!(run.count(delivered_call), 1, "{label}: {:?}", run.calls);
    }
}
