//! `[SETTLED]`: after a flapping notice the alarm's later changes in the window are suppressed,
//! so without more its final state would never be sent and a page opened by ALARM would never
//! resolve. The router keeps no state and cannot wait; with the notice it creates a one-time
//! EventBridge Scheduler schedule that invokes the router itself later with a settle check. The
//! check reads the alarm's state: quiet for the settle period (or the window over), it sends
//! exactly one `[SETTLED] <state>` notification, routed like any other; still changing, it
//! schedules the next check.

use aws_sdk_cloudwatch::types::AlarmType;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::error::describe_aws_error;
use shared::settings::{SettingError, Settings};

/// The key that marks a settle check among the router's events.
pub const EVENT_KEY: &str = "stackhandSettleCheck";
/// Scheduler's group; the schedules delete themselves after they run.
pub const GROUP: &str = "default";
/// Every schedule's name starts so; the router's role may create no others.
pub const NAME_PREFIX: &str = "stackhand-settle-";
/// A check is never scheduled sooner than this (Scheduler runs `at()` to the minute).
pub(crate) const MIN_DELAY_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleSettings {
    /// The router's own function ARN (`SETTLE_TARGET_ARN`), which the schedule invokes.
    pub target_arn: String,
    /// The role Scheduler assumes to invoke it (`SETTLE_ROLE_ARN`).
    pub role_arn: String,
    /// How long the alarm must keep one state to have settled (`SETTLE_MINUTES`).
    pub minutes: u64,
}

impl SettleSettings {
    /// `None` when neither ARN is set (settle checks off); one without the other is an error.
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &Settings<F>,
    ) -> Result<Option<Self>, SettingError> {
        let arn = |name: &'static str| -> Result<Option<String>, SettingError> {
            match env.text(name) {
                Some(value) if !value.starts_with("arn:") => Err(SettingError {
                    name,
                    problem: format!("must be an ARN, got \"{value}\""),
                }),
                other => Ok(other),
            }
        };
        let minutes = env.int("SETTLE_MINUTES", 10, 1..=1440)? as u64;
        match (arn("SETTLE_TARGET_ARN")?, arn("SETTLE_ROLE_ARN")?) {
            (Some(target_arn), Some(role_arn)) => Ok(Some(SettleSettings {
                target_arn,
                role_arn,
                minutes,
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(SettingError {
                name: "SETTLE_ROLE_ARN",
                problem:
                    "is required with SETTLE_TARGET_ARN: the role Scheduler invokes the router with"
                        .to_owned(),
            }),
            (None, Some(_)) => Err(SettingError {
                name: "SETTLE_TARGET_ARN",
                problem: "is required with SETTLE_ROLE_ARN: the router's own function ARN"
                    .to_owned(),
            }),
        }
    }
}

/// What kept the alarm's changes from being sent one by one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    #[default]
    Flapping,
    /// Changes held while the alarm's stack or service was deploying.
    Deploying,
}

impl Cause {
    /// As the message says it: "After flapping, ...".
    pub fn phrase(self) -> &'static str {
        match self {
            Cause::Flapping => "flapping",
            Cause::Deploying => "a deployment",
        }
    }
}

/// What a schedule hands back to the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleCheck {
    pub alarm_name: String,
    pub alarm_arn: String,
    /// When the flap window that the notice opened closes (seconds since the epoch): the check
    /// then sends the state whatever it is.
    pub window_ends_at: i64,
    #[serde(default)]
    pub cause: Cause,
    /// When this check was due (seconds since the epoch); set by [`schedule`].
    #[serde(default)]
    pub due: i64,
}

impl SettleCheck {
    /// The check an event carries, if it is one.
    pub fn from_event(event: &Value) -> Option<Result<SettleCheck, String>> {
        let check = event.get(EVENT_KEY)?;
        Some(serde_json::from_value(check.clone()).map_err(|e| e.to_string()))
    }

    pub fn to_event(&self) -> Value {
        json!({ EVENT_KEY: self })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Settled,
    /// Still changing: check again at this time (seconds since the epoch).
    Recheck(i64),
}

/// Settled once the state has held `settle_seconds`, or the window is over; otherwise when to
/// look again: when the state would have held long enough, but not after the window.
pub fn judge(now: i64, state_since: i64, settle_seconds: i64, window_ends_at: i64) -> Verdict {
    if now - state_since >= settle_seconds || now >= window_ends_at {
        return Verdict::Settled;
    }
    let due = (state_since + settle_seconds).min(window_ends_at);
    Verdict::Recheck(due.max(now + MIN_DELAY_SECONDS))
}

fn short_hash(text: &str, hex_chars: usize) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(hex_chars)
        .collect()
}

/// The start every schedule of one router and alarm shares.
pub fn alarm_prefix(target_arn: &str, alarm_arn: &str) -> String {
    format!(
        "{NAME_PREFIX}{}-{}-",
        short_hash(target_arn, 8),
        short_hash(alarm_arn, 16)
    )
}

/// One name per router, alarm and due minute (at most 64 characters of `[0-9a-zA-Z-_.]`): a
/// repeated delivery of the same change makes the same name, which Scheduler refuses as a
/// conflict, so it schedules nothing twice. Two routers in one account keep apart.
pub fn schedule_name(target_arn: &str, alarm_arn: &str, due: i64) -> String {
    format!("{}{}", alarm_prefix(target_arn, alarm_arn), due / 60)
}

/// Whether another check of the alarm is due after `check`: then that one speaks, and the
/// alarm gets one settled notification, not one per held change. Unknown counts as no.
pub async fn later_check_pending(
    scheduler: &aws_sdk_scheduler::Client,
    settings: &SettleSettings,
    check: &SettleCheck,
) -> bool {
    let prefix = alarm_prefix(&settings.target_arn, &check.alarm_arn);
    let listed = scheduler
        .list_schedules()
        .group_name(GROUP)
        .name_prefix(&prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    match listed {
        Ok(schedules) => schedules.iter().any(|s| {
            s.name()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|minute| minute.parse::<i64>().ok())
                .is_some_and(|minute| minute > check.due / 60)
        }),
        Err(err) => {
            tracing::warn!(alarm = check.alarm_name, error = %describe_aws_error(&err), "pending checks unknown; sending");
            false
        }
    }
}

/// Scheduler's one-time expression, in UTC: `at(yyyy-mm-ddThh:mm:ss)`.
pub fn at_expression(due: i64) -> String {
    let text = aws_smithy_types::DateTime::from_secs(due)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    format!("at({})", text.trim_end_matches('Z'))
}

/// Creates the one-time schedule that runs `check` at `due`; one already pending for the same
/// alarm and time is success.
pub async fn schedule(
    scheduler: &aws_sdk_scheduler::Client,
    settings: &SettleSettings,
    check: &SettleCheck,
    due: i64,
) -> Result<String, String> {
    let name = schedule_name(&settings.target_arn, &check.alarm_arn, due);
    let check = SettleCheck {
        due,
        ..check.clone()
    };
    let build = |e: aws_sdk_scheduler::error::BuildError| e.to_string();
    let target = Target::builder()
        .arn(&settings.target_arn)
        .role_arn(&settings.role_arn)
        .input(check.to_event().to_string())
        .build()
        .map_err(build)?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(build)?;
    let created = scheduler
        .create_schedule()
        .name(&name)
        .group_name(GROUP)
        .description(format!(
            "stackhand alarm-router: has {} settled?",
            crate::message::subject_text(&check.alarm_name)
        ))
        .schedule_expression(at_expression(due))
        .schedule_expression_timezone("UTC")
        .flexible_time_window(window)
        .target(target)
        .action_after_completion(ActionAfterCompletion::Delete)
        .send()
        .await;
    match created {
        Ok(_) => Ok(name),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_conflict_exception()) =>
        {
            Ok(name)
        }
        Err(err) => Err(describe_aws_error(&err)),
    }
}

/// The alarm as DescribeAlarms has it now, as the state-change event an alarm in that state
/// would carry (no previous state: the flapping is what came before).
pub async fn current_as_event(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    check: &SettleCheck,
) -> Result<Option<(Value, i64)>, String> {
    let out = cloudwatch
        .describe_alarms()
        .alarm_names(&check.alarm_name)
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| describe_aws_error(&e))?;
    let metric = out.metric_alarms().first().map(|a| {
        (
            a.state_value().map(|s| s.as_str().to_owned()),
            a.state_reason(),
            a.state_reason_data(),
            a.state_updated_timestamp(),
            a.alarm_description(),
            None,
        )
    });
    let composite = out.composite_alarms().first().map(|a| {
        (
            a.state_value().map(|s| s.as_str().to_owned()),
            a.state_reason(),
            a.state_reason_data(),
            a.state_updated_timestamp(),
            a.alarm_description(),
            a.alarm_rule(),
        )
    });
    let Some((state, reason, reason_data, since, description, rule)) = metric.or(composite) else {
        return Ok(None);
    };
    let since = since.map_or(0, |t| t.secs());
    let timestamp = aws_smithy_types::DateTime::from_secs(since)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .ok();
    let mut parts = check.alarm_arn.split(':');
    let (region, account) = (parts.nth(3), parts.next());
    let event = json!({
        "version": "0",
        "id": format!("settled-{}", schedule_name("", &check.alarm_arn, since)),
        "detail-type": crate::event::DETAIL_TYPE,
        "source": crate::event::SOURCE,
        "account": account,
        "region": region,
        "resources": [check.alarm_arn],
        "detail": {
            "alarmName": check.alarm_name,
            "state": {
                "value": state.unwrap_or_else(|| "INSUFFICIENT_DATA".to_owned()),
                "reason": reason,
                "reasonData": reason_data,
                "timestamp": timestamp,
            },
            "configuration": {"description": description, "alarmRule": rule},
        },
    });
    Ok(Some((event, since)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_quiet_alarm_has_settled_and_a_busy_one_is_checked_again() {
        let settle = 600;
        assert_eq!(judge(10_000, 9_000, settle, 20_000), Verdict::Settled);
        assert_eq!(
            judge(10_000, 9_700, settle, 20_000),
            Verdict::Recheck(10_300)
        );
        assert_eq!(
            judge(10_000, 9_990, settle, 10_200),
            Verdict::Recheck(10_200),
            "never after the window"
        );
        assert_eq!(judge(10_200, 10_190, settle, 10_200), Verdict::Settled);
        assert_eq!(
            judge(10_000, 9_999, settle, 10_030),
            Verdict::Recheck(10_060)
        );
    }

    #[test]
    fn names_fit_scheduler_and_expressions_are_utc() {
        let name = schedule_name(
            "arn:aws:lambda:eu-west-1:123456789012:function:platform-alarm-router",
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders/api p99 latency",
            1_764_590_400,
        );
        assert!(name.len() <= 64, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert!(name.starts_with(NAME_PREFIX));
        assert_eq!(at_expression(1_764_590_400), "at(2025-12-01T12:00:00)");
    }

    #[test]
    fn a_check_round_trips_through_its_event() {
        let check = SettleCheck {
            alarm_name: "orders-api-cpu".to_owned(),
            alarm_arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-api-cpu".to_owned(),
            window_ends_at: 1_764_590_400,
            cause: Cause::Deploying,
            due: 1_764_590_000,
        };
        assert_eq!(
            SettleCheck::from_event(&check.to_event()),
            Some(Ok(check.clone()))
        );
        assert_eq!(SettleCheck::from_event(&json!({"detail-type": "x"})), None);
        let older = json!({EVENT_KEY: {"alarmName": "a", "alarmArn": "arn", "windowEndsAt": 1}});
        let read = SettleCheck::from_event(&older).and_then(Result::ok);
        assert_eq!(read.map(|c| (c.cause, c.due)), Some((Cause::Flapping, 0)));
        assert!(matches!(
            SettleCheck::from_event(&json!({EVENT_KEY: {"alarmName": 3}})),
            Some(Err(_))
        ));
    }

    proptest! {
        #[test]
        fn a_recheck_is_always_later_and_never_past_the_window_by_more_than_a_minute(
            now in 0i64..10_000_000,
            ago in 0i64..100_000,
            settle in 60i64..86_400,
            left in -1_000i64..100_000,
        ) {
            match judge(now, now - ago, settle, now + left) {
                Verdict::Settled => prop_assert!(ago >= settle || left <= 0),
                Verdict::Recheck(at) => {
                    prop_assert!(at >= now + MIN_DELAY_SECONDS);
                    prop_assert!(at <= (now + left).max(now + MIN_DELAY_SECONDS));
                }
            }
        }
    }
}
