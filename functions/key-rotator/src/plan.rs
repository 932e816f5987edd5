//! What the rotator does to one key, decided from what KMS said about it. Pure, so every rule
//! is unit-tested without KMS.

use serde::Serialize;
use std::collections::BTreeMap;

pub use shared::key_tags::{
    ON_DEMAND_INTERVAL_DAYS, ROTATION_OFF, ROTATION_PERIOD_DAYS, TAG_ROTATE_EVERY,
    TAG_ROTATION_PERIOD,
};
pub const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub default_period_days: i32,
    pub max_on_demand_rotations: usize,
}

/// On-demand rotations KMS allows per key, a quota it does not let anyone raise (KMS Developer
/// Guide, "Perform on-demand key rotation": 25 since 2025, 10 before). The rotator counts the
/// key's ON_DEMAND rotations in ListKeyRotations and still handles KMS's LimitExceededException.
pub const KMS_ON_DEMAND_QUOTA: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    EnabledRotation,
    UpdatedPeriod,
    RotatedOnDemand,
    Skipped,
    /// A KMS call failed; the reason says which.
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub key_id: String,
    pub action: ActionKind,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_days: Option<i32>,
}

impl Action {
    pub fn new(key_id: &str, action: ActionKind, reason: impl Into<String>) -> Self {
        Action {
            key_id: key_id.to_owned(),
            action,
            reason: reason.into(),
            rotation_period_days: None,
        }
    }
}

/// The automatic-rotation period the key should have: `Ok(None)` when turned off by tag.
pub fn wanted_period(
    tags: &BTreeMap<String, String>,
    limits: Limits,
) -> Result<Option<i32>, String> {
    match tags.get(TAG_ROTATION_PERIOD).map(|v| v.trim()) {
        None => Ok(Some(limits.default_period_days)),
        Some(ROTATION_OFF) => Ok(None),
        Some(text) => match text.parse::<i64>() {
            // The range fits an i32.
            Ok(days) if ROTATION_PERIOD_DAYS.contains(&days) => Ok(Some(days as i32)),
            _ => Err(format!(
                "tag {TAG_ROTATION_PERIOD} must be 90 to 2560 or \"{ROTATION_OFF}\", got \"{text}\""
            )),
        },
    }
}

/// Automatic rotation: enable it, correct its period, or leave it.
pub fn automatic(
    key_id: &str,
    tags: &BTreeMap<String, String>,
    enabled: bool,
    live_period: Option<i32>,
    limits: Limits,
) -> Option<Action> {
    let wanted = match wanted_period(tags, limits) {
        Ok(Some(days)) => days,
        Ok(None) => {
            return Some(Action::new(
                key_id,
                ActionKind::Skipped,
                format!(
                    "automatic rotation turned off by tag {TAG_ROTATION_PERIOD}={ROTATION_OFF}"
                ),
            ));
        }
        Err(problem) => return Some(Action::new(key_id, ActionKind::Skipped, problem)),
    };
    let (kind, reason) = if !enabled {
        (
            ActionKind::EnabledRotation,
            "automatic rotation was off".to_owned(),
        )
    } else {
        match live_period {
            Some(live) if live != wanted => (
                ActionKind::UpdatedPeriod,
                format!("rotation period was {live} days"),
            ),
            // Enabled with the right period, or a period KMS did not report.
            _ => return None,
        }
    };
    Some(Action {
        rotation_period_days: Some(wanted),
        ..Action::new(key_id, kind, reason)
    })
}

/// What ListKeyRotations and GetKeyRotationStatus said, for on-demand rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationHistory {
    pub on_demand_count: usize,
    /// Seconds since the epoch of the newest rotation, if any.
    pub newest: Option<i64>,
    pub created: Option<i64>,
    pub in_progress: bool,
}

/// The `stackhand:rotate-every-days` interval, if the key has one.
pub fn on_demand_interval(tags: &BTreeMap<String, String>) -> Option<Result<i64, String>> {
    let text = tags.get(TAG_ROTATE_EVERY)?.trim().to_owned();
    Some(match text.parse::<i64>() {
        Ok(days) if ON_DEMAND_INTERVAL_DAYS.contains(&days) => Ok(days),
        _ => Err(format!(
            "tag {TAG_ROTATE_EVERY} must be 1 to 2560 days, got \"{text}\""
        )),
    })
}

/// On-demand rotation when the newest rotation (or the creation) is `every_days` old.
pub fn on_demand(
    key_id: &str,
    every_days: i64,
    history: RotationHistory,
    now: i64,
    limits: Limits,
) -> Option<Action> {
    if history.in_progress {
        return Some(Action::new(
            key_id,
            ActionKind::Skipped,
            "an on-demand rotation is already in progress",
        ));
    }
    let since = history.newest.or(history.created)?;
    let age_days = (now - since).max(0) / SECONDS_PER_DAY;
    if age_days < every_days {
        return None;
    }
    if history.on_demand_count >= limits.max_on_demand_rotations {
        return Some(Action::new(
            key_id,
            ActionKind::Skipped,
            format!(
                "due ({age_days} days since the last rotation, every {every_days}), but the key has used {} of its {} on-demand rotations",
                history.on_demand_count, limits.max_on_demand_rotations
            ),
        ));
    }
    let last = if history.newest.is_some() {
        "the last rotation"
    } else {
        "creation"
    };
    Some(Action::new(
        key_id,
        ActionKind::RotatedOnDemand,
        format!("{age_days} days since {last}; rotates every {every_days}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        default_period_days: 365,
        max_on_demand_rotations: 25,
    };
    const DAY: i64 = SECONDS_PER_DAY;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rotation_is_enabled_with_the_tag_period_or_the_default() {
        let action = automatic("k", &tags(&[]), false, None, LIMITS).expect("enable");
        assert_eq!(
            (action.action, action.rotation_period_days),
            (ActionKind::EnabledRotation, Some(365))
        );
        let action = automatic(
            "k",
            &tags(&[(TAG_ROTATION_PERIOD, "180")]),
            false,
            None,
            LIMITS,
        )
        .expect("enable");
        assert_eq!(action.rotation_period_days, Some(180));
    }

    #[test]
    fn a_wrong_period_is_corrected_and_a_right_one_left_alone() {
        let action = automatic(
            "k",
            &tags(&[(TAG_ROTATION_PERIOD, "180")]),
            true,
            Some(365),
            LIMITS,
        )
        .expect("fix");
        assert_eq!(action.action, ActionKind::UpdatedPeriod);
        assert_eq!(action.reason, "rotation period was 365 days");
        assert_eq!(automatic("k", &tags(&[]), true, Some(365), LIMITS), None);
        assert_eq!(
            automatic("k", &tags(&[]), true, None, LIMITS),
            None,
            "period unknown: leave it"
        );
    }

    #[test]
    fn a_disabled_or_bad_tag_is_a_skip_with_its_reason() {
        let off = automatic(
            "k",
            &tags(&[(TAG_ROTATION_PERIOD, "disabled")]),
            false,
            None,
            LIMITS,
        )
        .expect("skip");
        assert_eq!(off.action, ActionKind::Skipped);
        assert!(off.reason.contains("turned off"));
        let bad = automatic(
            "k",
            &tags(&[(TAG_ROTATION_PERIOD, "10")]),
            false,
            None,
            LIMITS,
        )
        .expect("skip");
        assert_eq!(
            bad.reason,
            "tag stackhand:rotation-period-days must be 90 to 2560 or \"disabled\", got \"10\""
        );
    }

    #[test]
    fn on_demand_follows_the_newest_rotation_or_the_creation() {
        let now = 1_000 * DAY;
        let fresh = RotationHistory {
            on_demand_count: 0,
            newest: Some(now - 10 * DAY),
            created: Some(0),
            in_progress: false,
        };
        assert_eq!(on_demand("k", 30, fresh, now, LIMITS), None);
        let old = RotationHistory {
            newest: Some(now - 31 * DAY),
            ..fresh
        };
        let action = on_demand("k", 30, old, now, LIMITS).expect("due");
        assert_eq!(action.action, ActionKind::RotatedOnDemand);
        assert_eq!(
            action.reason,
            "31 days since the last rotation; rotates every 30"
        );
        let never = RotationHistory {
            newest: None,
            created: Some(now - 40 * DAY),
            ..fresh
        };
        assert!(
            on_demand("k", 30, never, now, LIMITS)
                .expect("due")
                .reason
                .contains("since creation")
        );
    }

    #[test]
    fn the_on_demand_limit_and_a_running_rotation_are_respected() {
        let now = 1_000 * DAY;
        let spent = RotationHistory {
            on_demand_count: 25,
            newest: Some(0),
            created: Some(0),
            in_progress: false,
        };
        let action = on_demand("k", 30, spent, now, LIMITS).expect("skip");
        assert_eq!(action.action, ActionKind::Skipped);
        assert!(
            action.reason.contains("used 25 of its 25"),
            "{}",
            action.reason
        );
        let running = RotationHistory {
            in_progress: true,
            ..spent
        };
        assert!(
            on_demand("k", 30, running, now, LIMITS)
                .expect("skip")
                .reason
                .contains("in progress")
        );
    }

    #[test]
    fn the_interval_tag_is_checked() {
        assert_eq!(on_demand_interval(&tags(&[])), None);
        assert_eq!(
            on_demand_interval(&tags(&[(TAG_ROTATE_EVERY, "30")])),
            Some(Ok(30))
        );
        assert!(
            on_demand_interval(&tags(&[(TAG_ROTATE_EVERY, "soon")]))
                .expect("tag")
                .is_err()
        );
    }
}
