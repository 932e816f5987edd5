//! Noise control: which state changes are not worth a notification, and why. Pure, so every
//! rule is unit-tested; the output names the rule that fired.

use crate::event::AlarmDetail;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseSettings {
    pub notify_on_ok: bool,
    pub suppress_initial_ok: bool,
    pub flap_threshold: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The composite's actions are suppressed (WaitPeriod, ExtensionPeriod or Alarm).
    ActionsSuppressed,
    /// INSUFFICIENT_DATA → OK: nothing was ever wrong.
    InsufficientDataToOk,
    /// OK without a prior ALARM.
    OkWithoutAlarm,
    /// NOTIFY_ON_OK is off.
    OkNotificationsOff,
    /// More than FLAP_THRESHOLD transitions in the window, after the one flapping notice.
    Flapping,
    /// A CloudWatch alarm mute rule is muting the alarm's actions (the output names it).
    Muted,
    /// Not critical, and its stack or ECS service is deploying: held, and the state it settles
    /// in is sent afterwards.
    Deploying,
}

impl Rule {
    pub fn explain(self, detail: &AlarmDetail, settings: NoiseSettings) -> String {
        match self {
            Rule::ActionsSuppressed => format!(
                "the composite's actions are suppressed by {}",
                detail
                    .state
                    .actions_suppressed_by
                    .as_deref()
                    .unwrap_or("its suppressor")
            ),
            Rule::InsufficientDataToOk => "INSUFFICIENT_DATA to OK: nothing was wrong".to_owned(),
            Rule::OkWithoutAlarm => format!(
                "OK after {}, not after ALARM (SUPPRESS_INITIAL_OK)",
                previous(detail)
            ),
            Rule::OkNotificationsOff => "OK notifications are off (NOTIFY_ON_OK)".to_owned(),
            Rule::Flapping => format!(
                "flapping: more than {} state changes in the window; one flapping notice was already sent",
                settings.flap_threshold
            ),
            Rule::Muted => "an alarm mute rule is muting the alarm's actions".to_owned(),
            Rule::Deploying => "held while the alarm's stack or service deploys".to_owned(),
        }
    }
}

fn previous(detail: &AlarmDetail) -> &str {
    detail
        .previous_state
        .as_ref()
        .map_or("no known state", |p| p.value.as_str())
}

/// The rules that need nothing but the event, in order.
pub fn before_history(detail: &AlarmDetail, settings: NoiseSettings) -> Option<Rule> {
    if detail.state.actions_suppressed_by.is_some() {
        return Some(Rule::ActionsSuppressed);
    }
    if detail.state.value != "OK" {
        return None;
    }
    if !settings.notify_on_ok {
        return Some(Rule::OkNotificationsOff);
    }
    let previous = previous(detail);
    if previous == "INSUFFICIENT_DATA" {
        return Some(Rule::InsufficientDataToOk);
    }
    if settings.suppress_initial_ok && previous != "ALARM" {
        return Some(Rule::OkWithoutAlarm);
    }
    None
}

/// What the window's transition count means: the change that crosses the threshold sends one
/// flapping notice; later ones in the window are suppressed. Stateless, from history alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flap {
    Steady,
    /// Publish one flapping notice in place of this change.
    Notice {
        transitions: usize,
    },
    Suppress,
}

pub fn flap(transitions: usize, threshold: usize) -> Flap {
    if transitions <= threshold {
        Flap::Steady
    } else if transitions == threshold + 1 {
        Flap::Notice { transitions }
    } else {
        Flap::Suppress
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AlarmState;

    const ON: NoiseSettings = NoiseSettings {
        notify_on_ok: true,
        suppress_initial_ok: true,
        flap_threshold: 4,
    };

    fn detail(value: &str, previous: Option<&str>) -> AlarmDetail {
        let state = |v: &str| AlarmState {
            value: v.to_owned(),
            reason: None,
            reason_data: None,
            timestamp: None,
            actions_suppressed_by: None,
            actions_suppressed_reason: None,
        };
        AlarmDetail {
            alarm_name: "a".to_owned(),
            state: state(value),
            previous_state: previous.map(state),
            configuration: None,
        }
    }

    #[test]
    fn alarms_always_pass_the_event_rules() {
        for previous in [None, Some("OK"), Some("INSUFFICIENT_DATA")] {
            assert_eq!(before_history(&detail("ALARM", previous), ON), None);
        }
    }

    #[test]
    fn ok_is_sent_only_after_an_alarm() {
        assert_eq!(before_history(&detail("OK", Some("ALARM")), ON), None);
        assert_eq!(
            before_history(&detail("OK", Some("INSUFFICIENT_DATA")), ON),
            Some(Rule::InsufficientDataToOk)
        );
        assert_eq!(
            before_history(&detail("OK", None), ON),
            Some(Rule::OkWithoutAlarm)
        );
        let initial_ok_allowed = NoiseSettings {
            suppress_initial_ok: false,
            ..ON
        };
        assert_eq!(
            before_history(&detail("OK", None), initial_ok_allowed),
            None
        );
        assert_eq!(
            before_history(&detail("OK", Some("INSUFFICIENT_DATA")), initial_ok_allowed),
            Some(Rule::InsufficientDataToOk),
            "INSUFFICIENT_DATA to OK is never news"
        );
        let no_ok = NoiseSettings {
            notify_on_ok: false,
            ..ON
        };
        assert_eq!(
            before_history(&detail("OK", Some("ALARM")), no_ok),
            Some(Rule::OkNotificationsOff)
        );
    }

    #[test]
    fn a_suppressed_composite_is_suppressed_whatever_its_state() {
        let mut suppressed = detail("ALARM", Some("OK"));
        suppressed.state.actions_suppressed_by = Some("WaitPeriod".to_owned());
        assert_eq!(
            before_history(&suppressed, ON),
            Some(Rule::ActionsSuppressed)
        );
        assert_eq!(
            Rule::ActionsSuppressed.explain(&suppressed, ON),
            "the composite's actions are suppressed by WaitPeriod"
        );
    }

    #[test]
    fn one_flapping_notice_then_silence() {
        assert_eq!(flap(4, 4), Flap::Steady);
        assert_eq!(flap(5, 4), Flap::Notice { transitions: 5 });
        assert_eq!(flap(6, 4), Flap::Suppress);
        assert_eq!(flap(0, 4), Flap::Steady);
    }
}
