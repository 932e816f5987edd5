//! What an Update of a baseline would change: the alarms (metric and composite) its logical
//! resource made, as CloudWatch describes them with their tags, against the set its environment
//! wants. Each alarm is compared by its own type's plan (`metric_alarm::plan`,
//! `composite::plan`), so a baseline alarm and a `Custom::MetricAlarm` agree on what "in step"
//! means. The error filter and dashboards, which take no tags and live in the owner ledger, are
//! compared where they are put (`MetricFilters::put_owned`, `Dashboards::put_owned`).

use crate::baseline::{BaselineProps, Desired, alarm_tags_for, composite_props};
use crate::composite;
use crate::cw::LiveAlarm;
use crate::metric_alarm;
use shared::Tag;
use shared::plan::{Change, Plan, retag, shown};
use shared::props::removed_tag_keys;
use std::collections::BTreeMap;

/// An alarm this baseline's logical resource made, with its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedAlarm {
    pub live: LiveAlarm,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A new alarm (metric or composite), with the owner records.
    Create(String),
    /// Its definition differs: PutMetricAlarm or PutCompositeAlarm.
    Put(String),
    Retag {
        alarm: String,
        untag: Vec<String>,
        tag: Vec<(String, String)>,
    },
    /// Made by this baseline and no longer wanted (a smaller environment, a service dropped).
    Remove(String),
}

/// An alarm's own plan, without its type's step: `(property, live, desired)`.
type Differences = Vec<(&'static str, String, String)>;

fn differences<S>(changes: Vec<Change<S>>) -> Differences {
    changes
        .into_iter()
        .map(|c| (c.property, c.live, c.desired))
        .collect()
}

/// What bringing the baseline's alarms to `desired` takes, metric alarms before the composite
/// that names them. `old_tags` are the old properties' Tags, absent when there are none to go by.
pub fn plan(
    props: &BaselineProps,
    old_tags: Option<&[Tag]>,
    desired: &Desired,
    owned: &[OwnedAlarm],
) -> Plan<Step> {
    let mut plan = Plan::new();
    let removed = removed_tag_keys(old_tags, &props.tags);
    let find = |name: &str| owned.iter().find(|o| o.live.name == name);
    let mut wanted_names = Vec::new();
    // Each value names the alarm: `<name>: <property>=<value>`.
    let mut member = |plan: &mut Plan<Step>, name: &str, severity: &str, changes: Differences| {
        wanted_names.push(name.to_owned());
        let Some(owned) = find(name) else {
            plan.compare("Alarms", shown(None), name, Step::Create(name.to_owned()));
            return;
        };
        for (property, live, desired) in changes {
            plan.add(
                "Alarms",
                format!("{name}: {property}={live}"),
                format!("{name}: {property}={desired}"),
                Step::Put(name.to_owned()),
            );
        }
        let removable = |k: &str| removed.iter().any(|r| r == k);
        if let Some(diff) = retag(&owned.tags, &alarm_tags_for(props, severity), removable) {
            plan.add(
                "Tags",
                format!("{name}: {}", diff.live),
                format!("{name}: {}", diff.desired),
                Step::Retag {
                    alarm: name.to_owned(),
                    untag: diff.untag,
                    tag: diff.tag,
                },
            );
        }
    };
    for spec in &desired.alarms {
        let changes = find(&spec.alarm_name)
            .map(|o| differences(metric_alarm::plan(&o.live, spec).changes))
            .unwrap_or_default();
        member(&mut plan, &spec.alarm_name, &spec.severity, changes);
    }
    if let Some((name, rule)) = &desired.composite {
        let changes = find(name)
            .map(|o| {
                differences(composite::plan(&o.live, &composite_props(props, name, rule)).changes)
            })
            .unwrap_or_default();
        member(&mut plan, name, "critical", changes);
    }
    for stale in owned
        .iter()
        .filter(|o| !wanted_names.contains(&o.live.name))
    {
        plan.compare(
            "Alarms",
            &stale.live.name,
            shown(None),
            Step::Remove(stale.live.name.clone()),
        );
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::desired;
    use serde_json::json;
    use shared::cfn::decode_properties;

    fn props(env: &str, tags: serde_json::Value) -> BaselineProps {
        let doc = json!({"Environment": env, "Prefix": "orders", "ClusterName": "orders",
            "ServiceNames": ["api"], "Tags": tags,
            "AlertTopicArn": "arn:aws:sns:us-east-1:111122223333:alerts",
            "CriticalTopicArn": "arn:aws:sns:us-east-1:111122223333:critical"});
        decode_properties::<crate::baseline_lifecycle::AlarmBaselines>(&doc).expect("valid")
    }

    fn desired_of(props: &BaselineProps) -> Desired {
        desired(props, "us-east-1", |n| {
            format!("arn:aws:cloudwatch:us-east-1:111122223333:alarm:{n}")
        })
    }

    /// Every alarm of `desired` as CloudWatch would describe it after a Create.
    fn made(props: &BaselineProps, desired: &Desired) -> Vec<OwnedAlarm> {
        let owned = |name: &str, composite, definition, severity: &str| {
            let mut tags: BTreeMap<String, String> =
                alarm_tags_for(props, severity).into_iter().collect();
            tags.insert("stackhand:stack-id".to_owned(), "arn:stack".to_owned());
            OwnedAlarm {
                live: LiveAlarm {
                    name: name.to_owned(),
                    arn: format!("arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"),
                    composite,
                    definition,
                },
                tags,
            }
        };
        let mut alarms: Vec<OwnedAlarm> = desired
            .alarms
            .iter()
            .map(|s| owned(&s.alarm_name, false, s.definition(), &s.severity))
            .collect();
        if let Some((name, rule)) = &desired.composite {
            let definition = composite_props(props, name, rule).definition();
            alarms.push(owned(name, true, definition, "critical"));
        }
        alarms
    }

    fn steps(plan: &Plan<Step>) -> Vec<Step> {
        plan.changes.iter().map(|c| c.step.clone()).collect()
    }

    #[test]
    fn a_baseline_just_made_plans_nothing() {
        let props = props("prod", json!([{"Key": "team", "Value": "orders"}]));
        let desired = desired_of(&props);
        assert!(desired.composite.is_some());
        let plan = plan(&props, None, &desired, &made(&props, &desired));
        assert!(plan.is_empty(), "{:?}", plan.changes);
    }

    #[test]
    fn a_threshold_changed_by_hand_is_put_back_naming_the_alarm() {
        let props = props("uat", json!([]));
        let desired = desired_of(&props);
        let mut owned = made(&props, &desired);
        owned[0]
            .live
            .definition
            .insert("Threshold", "12345".to_owned());
        let plan = plan(&props, None, &desired, &owned);
        let name = owned[0].live.name.clone();
        assert_eq!(steps(&plan), [Step::Put(name.clone())]);
        assert_eq!(plan.changes[0].live, format!("{name}: Threshold=12345"));
        assert!(
            plan.changes[0]
                .desired
                .starts_with(&format!("{name}: Threshold="))
        );
    }

    #[test]
    fn a_smaller_environment_removes_what_it_no_longer_wants_and_a_larger_one_creates() {
        let prod = props("prod", json!([]));
        let dev = props("dev", json!([]));
        let (prod_alarms, dev_alarms) = (desired_of(&prod), desired_of(&dev));
        let plan = plan(&dev, None, &dev_alarms, &made(&prod, &prod_alarms));
        let removed = steps(&plan)
            .into_iter()
            .filter(|s| matches!(s, Step::Remove(_)))
            .count();
        let wanted = dev_alarms.alarms.len() + usize::from(dev_alarms.composite.is_some());
        let had = prod_alarms.alarms.len() + usize::from(prod_alarms.composite.is_some());
        assert!(wanted < had);
        assert!(steps(&plan).iter().all(|s| !matches!(s, Step::Create(_))));
        assert!(removed >= had - wanted, "{removed}");

        let plan = super::plan(&prod, None, &prod_alarms, &made(&dev, &dev_alarms));
        let created: Vec<Step> = steps(&plan)
            .into_iter()
            .filter(|s| matches!(s, Step::Create(_)))
            .collect();
        assert!(!created.is_empty());
        // The composite names the metric alarms, so it comes after them.
        let composite = prod_alarms.composite.clone().expect("prod has one").0;
        assert_eq!(created.last(), Some(&Step::Create(composite)));
    }

    #[test]
    fn tags_the_old_properties_had_are_removed_and_edited_ones_put_back() {
        let old = props("qa", json!([{"Key": "team", "Value": "orders"}]));
        let new = props("qa", json!([]));
        let desired = desired_of(&new);
        let mut owned = made(&old, &desired);
        owned[0].tags.insert(
            shared::alarm_tags::TAG_SEVERITY.to_owned(),
            "info".to_owned(),
        );
        let plan = plan(&new, Some(&old.tags), &desired, &owned);
        let first = &plan.changes[0];
        let Step::Retag { untag, tag, .. } = &first.step else {
            panic!("expected a retag, got {:?}", first.step);
        };
        assert_eq!(untag, &["team".to_owned()]);
        assert_eq!(tag.len(), 1);
        assert!(first.live.contains("team=orders") && first.live.contains("severity=info"));
        assert_eq!(
            plan.changes.len(),
            owned.len(),
            "every alarm loses the team tag"
        );
    }
}
