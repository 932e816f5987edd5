//! The alarm and topic tags monitoring-provider writes and alarm-router reads, in one place
//! (the KMS tags are in `key_tags`).

/// `critical`, `warning` or `info` on an alarm (and `critical` or `standard` on an alert
/// topic): alarm-router routes by it.
pub const TAG_SEVERITY: &str = "severity";
/// The runbook URL alarm-router puts in the notification.
pub const TAG_RUNBOOK: &str = "runbook";

/// CloudWatch's limit on an alarm description, in characters.
pub const MAX_ALARM_DESCRIPTION: usize = 1024;
const SEVERITY_LINE: &str = "[stackhand severity=";
/// Room the severity line takes at the end of a description (the longest severity).
pub const SEVERITY_LINE_ROOM: usize = "\n\n[stackhand severity=critical]".len();
/// The longest description a user may give an alarm stackhand makes.
pub const MAX_USER_DESCRIPTION: usize = MAX_ALARM_DESCRIPTION - SEVERITY_LINE_ROOM;

/// The description stackhand writes on an alarm: the user's text, then a last line naming the
/// severity. The state-change event carries the description, so alarm-router knows the severity
/// without a read; a tag read is throttled exactly when an incident changes every alarm at once.
pub fn with_severity(description: Option<&str>, severity: &str) -> String {
    let line = format!("{SEVERITY_LINE}{severity}]");
    match description.map(str::trim_end).filter(|d| !d.is_empty()) {
        Some(text) => format!("{text}\n\n{line}"),
        None => line,
    }
}

/// A description split into the user's text and the severity its last line names, if any.
pub fn split_severity(description: &str) -> (&str, Option<&str>) {
    let trimmed = description.trim_end();
    let (text, last) = match trimmed.rfind('\n') {
        Some(at) => (&trimmed[..at], &trimmed[at + 1..]),
        None => ("", trimmed),
    };
    match last
        .strip_prefix(SEVERITY_LINE)
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(severity) => (text.trim_end(), Some(severity)),
        None => (description, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_severity_line_is_written_and_read_back() {
        let written = with_severity(Some("CPU above 90%\nsee the runbook  "), "critical");
        assert_eq!(
            written,
            "CPU above 90%\nsee the runbook\n\n[stackhand severity=critical]"
        );
        assert_eq!(
            split_severity(&written),
            ("CPU above 90%\nsee the runbook", Some("critical"))
        );
        assert_eq!(with_severity(None, "info"), "[stackhand severity=info]");
        assert_eq!(
            split_severity("[stackhand severity=info]"),
            ("", Some("info"))
        );
    }

    #[test]
    fn a_description_without_the_line_is_left_whole() {
        assert_eq!(split_severity("made by hand"), ("made by hand", None));
        assert_eq!(
            split_severity("[stackhand severity=critical] is not last\nmore"),
            ("[stackhand severity=critical] is not last\nmore", None)
        );
    }

    proptest! {
        #[test]
        fn every_user_description_that_fits_round_trips(
            text in "\\PC{0,200}",
            severity in prop::sample::select(vec!["critical", "warning", "info"]),
        ) {
            let written = with_severity(Some(&text), severity);
            prop_assert!(written.chars().count() <= text.chars().count() + SEVERITY_LINE_ROOM);
            let (user, read) = split_severity(&written);
            prop_assert_eq!(read, Some(severity));
            prop_assert_eq!(user, text.trim_end());
        }
    }
}
