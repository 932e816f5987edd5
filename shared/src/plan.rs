//! What an Update would change, decided before anything is changed: each resource type compares
//! its desired properties with the live resource as AWS describes it and lists the differences,
//! each naming the property, the live value and the desired value, with the step that brings it
//! in line. The apply performs the steps; a dry run (drift detection) reads the changes only, so
//! the two can never disagree about what "in step" means.

use crate::Tag;
use std::collections::BTreeMap;

/// One property that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<S> {
    pub property: &'static str,
    pub live: String,
    pub desired: String,
    pub step: S,
}

/// The differences between a live resource and its properties, in the order they are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<S> {
    pub changes: Vec<Change<S>>,
}

impl<S> Default for Plan<S> {
    fn default() -> Self {
        Plan {
            changes: Vec::new(),
        }
    }
}

impl<S: PartialEq> Plan<S> {
    pub fn new() -> Self {
        Plan::default()
    }

    /// Records `property` when its live and desired forms (already normalized by the caller:
    /// the same units, order and spelling AWS uses) differ.
    pub fn compare(
        &mut self,
        property: &'static str,
        live: impl Into<String>,
        desired: impl Into<String>,
        step: S,
    ) {
        let (live, desired) = (live.into(), desired.into());
        if live != desired {
            self.changes.push(Change {
                property,
                live,
                desired,
                step,
            });
        }
    }

    /// Records a difference the caller has already judged (values compared in a form the
    /// shown strings do not capture, such as JSON documents).
    pub fn add(
        &mut self,
        property: &'static str,
        live: impl Into<String>,
        desired: impl Into<String>,
        step: S,
    ) {
        self.changes.push(Change {
            property,
            live: live.into(),
            desired: desired.into(),
            step,
        });
    }

    /// Records the tag change `diff`, if any, under `Tags`, with the step `step` makes of its
    /// keys to remove and pairs to set.
    pub fn add_retag(
        &mut self,
        diff: Option<Retag>,
        step: impl FnOnce(Vec<String>, Vec<(String, String)>) -> S,
    ) {
        if let Some(diff) = diff {
            self.add("Tags", diff.live, diff.desired, step(diff.untag, diff.tag));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change needs `step`.
    pub fn needs(&self, step: &S) -> bool {
        self.changes.iter().any(|c| &c.step == step)
    }

    /// The properties that differ, for logs and reports.
    pub fn properties(&self) -> Vec<&'static str> {
        self.changes.iter().map(|c| c.property).collect()
    }
}

/// Absent values read the same in every plan.
pub fn shown(value: Option<&str>) -> String {
    value.unwrap_or("(none)").to_owned()
}

/// The user's part of a live tag set: without the owner records (`stackhand:`) and AWS's own.
pub fn user_tags(live: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    live.iter()
        .filter(|(k, _)| {
            !k.starts_with("stackhand:") && !k.to_ascii_lowercase().starts_with("aws:")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// How the user tags differ: `None` when in step, else the keys to remove (live keys the
/// properties no longer have), with both sets shown as `k=v, ...`.
pub fn tag_change(
    live: &BTreeMap<String, String>,
    desired: &[Tag],
) -> Option<(String, String, Vec<String>)> {
    let live = user_tags(live);
    let wanted: BTreeMap<String, String> = desired
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    if live == wanted {
        return None;
    }
    let removed = live
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    let show = |tags: &BTreeMap<String, String>| {
        tags.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some((show(&live), show(&wanted), removed))
}

/// The tag calls that bring a live tag set to the wanted pairs, with both sides shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retag {
    /// Keys to remove: live keys the wanted pairs lack and `removable` allows.
    pub untag: Vec<String>,
    /// Pairs to set: wanted and not live with that value.
    pub tag: Vec<(String, String)>,
    /// The touched keys as they are live, `k=v, ...`.
    pub live: String,
    /// The pairs set, `k=v, ...` (removed keys are shown on the live side only).
    pub desired: String,
}

/// `None` when in step. `removable` says which live keys this resource may take away (the
/// owner records and keys added by hand are never taken).
pub fn retag(
    live: &BTreeMap<String, String>,
    wanted: &[(String, String)],
    removable: impl Fn(&str) -> bool,
) -> Option<Retag> {
    let untag: Vec<String> = live
        .keys()
        .filter(|k| !wanted.iter().any(|(w, _)| w == *k) && removable(k))
        .cloned()
        .collect();
    let tag: Vec<(String, String)> = wanted
        .iter()
        .filter(|(k, v)| live.get(k) != Some(v))
        .cloned()
        .collect();
    if untag.is_empty() && tag.is_empty() {
        return None;
    }
    let touched: Vec<String> = untag
        .iter()
        .chain(tag.iter().map(|(k, _)| k))
        .filter_map(|k| live.get(k).map(|v| format!("{k}={v}")))
        .collect();
    let set: Vec<String> = tag.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some(Retag {
        live: touched.join(", "),
        desired: set.join(", "),
        untag,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn equal_values_make_no_change() {
        let mut plan: Plan<u8> = Plan::new();
        plan.compare("RetentionInDays", "7", "7", 1);
        assert!(plan.is_empty());
        plan.compare("RetentionInDays", "7", "30", 1);
        assert_eq!(plan.properties(), vec!["RetentionInDays"]);
        assert!(plan.needs(&1) && !plan.needs(&2));
        assert_eq!(plan.changes[0].live, "7");
        assert_eq!(plan.changes[0].desired, "30");
    }

    #[test]
    fn retag_removes_only_what_may_go_and_shows_both_sides() {
        let live = BTreeMap::from([
            ("stackhand:stack-id".to_owned(), "arn".to_owned()),
            ("team".to_owned(), "orders".to_owned()),
            ("by-hand".to_owned(), "x".to_owned()),
        ]);
        let wanted = [("tier".to_owned(), "1".to_owned())];
        let diff = retag(&live, &wanted, |k| k == "team").expect("a change");
        assert_eq!(diff.untag, ["team"]);
        assert_eq!(diff.tag, wanted);
        assert_eq!(
            (diff.live.as_str(), diff.desired.as_str()),
            ("team=orders", "tier=1")
        );
        let in_step = [("team".to_owned(), "orders".to_owned())];
        assert_eq!(
            retag(&live, &in_step, |k| !k.starts_with("stackhand:")).map(|d| d.untag),
            Some(vec!["by-hand".to_owned()])
        );
        assert_eq!(retag(&live, &in_step, |k| k == "team"), None);
    }

    #[test]
    fn owner_records_and_aws_tags_are_not_the_users() {
        let live = BTreeMap::from([
            ("stackhand:stack-id".to_owned(), "arn".to_owned()),
            ("aws:cloudformation:stack-name".to_owned(), "s".to_owned()),
            ("team".to_owned(), "orders".to_owned()),
        ]);
        assert_eq!(tag_change(&live, &[tag("team", "orders")]), None);
        let (shown_live, shown_desired, removed) =
            tag_change(&live, &[tag("team", "payments"), tag("tier", "1")]).expect("a change");
        assert_eq!(shown_live, "team=orders");
        assert_eq!(shown_desired, "team=payments, tier=1");
        assert!(removed.is_empty());
        let (_, _, removed) = tag_change(&live, &[]).expect("a change");
        assert_eq!(removed, vec!["team".to_owned()]);
    }
}
