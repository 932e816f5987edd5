//! Decoding the alarm, composite, dashboard, filter, query and topic properties: every bad
//! input the issue names fails before any call and names the property.

use serde_json::{Value, json};
use shared::cfn::{CustomResource, Named, decode_properties};

fn reason<R: CustomResource>(doc: Value) -> String {
    decode_properties::<R>(&doc)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("{doc} must fail"))
}

type Alarm = Named<crate::metric_alarm::MetricAlarms>;
type Composite = Named<crate::composite::CompositeAlarms>;
type Dashboard = Named<crate::dashboard::Dashboards>;
type Filter = Named<crate::metric_filter::MetricFilters>;

fn alarm(extra: Value) -> Value {
    let mut doc = json!({"Environment": "dev", "AlarmName": "cpu", "Namespace": "AWS/ECS", "MetricName": "CPUUtilization",
        "Statistic": "Average", "Period": 300, "EvaluationPeriods": 1, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"});
    for (k, v) in extra.as_object().expect("object") {
        doc[k] = v.clone();
    }
    doc
}

#[test]
fn a_single_metric_alarm_decodes() {
    let decoded = decode_properties::<Alarm>(&alarm(json!({"Dimensions": [{"Name": "ClusterName", "Value": "orders"}], "Severity": "critical", "Runbook": "https://runbooks.example.com/cpu"})))
        .expect("valid");
    assert_eq!(decoded.spec.severity, "critical");
    assert!(
        decode_properties::<Alarm>(&alarm(
            json!({"Dimensions": {"ClusterName": "orders"}, "Period": "60", "Threshold": "80.5"})
        ))
        .is_ok()
    );
}

#[test]
fn bad_alarm_input_names_the_property() {
    for (extra, expected) in [
        (
            json!({"ComparisonOperator": "Bigger"}),
            "Custom::MetricAlarm: ComparisonOperator must be one of GreaterThanOrEqualToThreshold, GreaterThanThreshold",
        ),
        (
            json!({"Period": 45}),
            "Custom::MetricAlarm: Period must be 10, 30 or a multiple of 60 seconds, got 45",
        ),
        (
            json!({"ExtendedStatistic": "p99"}),
            "Custom::MetricAlarm: Statistic cannot be combined with ExtendedStatistic",
        ),
        (
            json!({"Severity": "urgent"}),
            "Custom::MetricAlarm: Severity must be one of critical, warning, info, got \"urgent\"",
        ),
        (
            json!({"DatapointsToAlarm": 3}),
            "Custom::MetricAlarm: DatapointsToAlarm must not exceed EvaluationPeriods (1), got 3",
        ),
        (
            json!({"AnomalyBandWidth": 2}),
            "Custom::MetricAlarm: Threshold cannot be combined with AnomalyBandWidth",
        ),
        (
            json!({"Runbook": "see wiki"}),
            "Custom::MetricAlarm: Runbook must be an http(s) URL, got \"see wiki\"",
        ),
        (
            json!({"AlarmActions": ["my-topic"]}),
            "Custom::MetricAlarm: AlarmActions must be ARNs",
        ),
        (
            json!({"Metrics": [{"Id": "m1", "Expression": "m2"}]}),
            "Custom::MetricAlarm: Namespace cannot be combined with Metrics",
        ),
    ] {
        let got = reason::<Alarm>(alarm(extra.clone()));
        assert!(got.starts_with(expected), "{extra}\n got: {got}");
    }
    let mut no_threshold = alarm(json!({}));
    no_threshold
        .as_object_mut()
        .expect("object")
        .remove("Threshold");
    assert_eq!(
        reason::<Alarm>(no_threshold),
        "Custom::MetricAlarm: Threshold is required when AnomalyBandWidth is absent"
    );
}

#[test]
fn anomaly_and_metric_math_alarms_decode() {
    let mut band = alarm(json!({"AnomalyBandWidth": "2"}));
    let map = band.as_object_mut().expect("object");
    map.remove("Threshold");
    map.remove("ComparisonOperator");
    let decoded = decode_properties::<Alarm>(&band).expect("anomaly");
    let queries = decoded.spec.queries().expect("band queries");
    assert_eq!(
        queries[1].expression.as_deref(),
        Some("ANOMALY_DETECTION_BAND(m1, 2)")
    );
    assert_eq!(
        decoded.spec.comparison_operator,
        "LessThanLowerOrGreaterThanUpperThreshold"
    );

    let math = json!({"Environment": "dev", "AlarmName": "rate", "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 2,
        "Metrics": [{"Id": "e1", "Expression": "100 * m2 / m1", "Label": "rate"},
                    {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"}, "Period": 60, "Stat": "Sum"}},
                    {"Id": "m2", "ReturnData": "false", "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": {"LoadBalancer": "app/x"}}, "Period": 60, "Stat": "Sum"}}]});
    assert_eq!(
        decode_properties::<Alarm>(&math)
            .expect("math")
            .spec
            .queries()
            .expect("queries")
            .len(),
        3
    );
    let mut two_returned = math.clone();
    two_returned["Metrics"][1]["ReturnData"] = json!(true);
    assert!(reason::<Alarm>(two_returned).starts_with(
        "Custom::MetricAlarm: Metrics must have exactly one entry with ReturnData true"
    ));
}

#[test]
fn bad_composite_dashboard_filter_and_topic_input_names_the_property() {
    assert_eq!(
        reason::<Composite>(json!({"Environment": "dev", "AlarmName": "health", "AlarmRule": ""})),
        "Custom::CompositeAlarm: AlarmRule must not be empty, got \"\""
    );
    assert!(
        reason::<Composite>(
            json!({"Environment": "dev", "AlarmName": "health", "AlarmRule": "TRUE"})
        )
        .contains("must name at least one alarm")
    );
    assert_eq!(
        reason::<Composite>(
            json!({"Environment": "dev", "AlarmName": "h", "AlarmRule": "ALARM(a)", "ActionsSuppressor": "maint"})
        ),
        "Custom::CompositeAlarm: ActionsSuppressorWaitPeriod is required when ActionsSuppressor is set"
    );
    assert_eq!(
        reason::<Dashboard>(
            json!({"Environment": "dev", "DashboardName": "d", "DashboardBody": {"start": "-PT3H"}})
        ),
        "Custom::Dashboard: DashboardBody must have a widgets list, got no widgets"
    );
    assert!(
        reason::<Dashboard>(
            json!({"Environment": "dev", "DashboardName": "d", "DashboardBody": "{not json"})
        )
        .contains("must be a JSON dashboard body")
    );
    assert!(reason::<Dashboard>(json!({"Environment": "dev", "DashboardName": "d", "DashboardBody": {"widgets": [{"properties": {}}]}})).contains("widgets[0] has none"));
    assert!(reason::<Filter>(json!({"Environment": "dev", "LogGroupName": "/a", "FilterName": "a:b", "MetricNamespace": "N", "MetricName": "M"})).starts_with("Custom::MetricFilter: FilterName must be"));
    assert_eq!(
        reason::<crate::alert_topic::AlertTopics>(
            json!({"Environment": "qa", "TopicName": "alerts"})
        ),
        "Custom::AlertTopic: KmsKeyArn is required when Environment is qa (encryption is required from qa on)"
    );
    assert!(
        reason::<crate::alert_topic::AlertTopics>(
            json!({"Environment": "dev", "TopicName": "alerts", "Severity": "urgent"})
        )
        .contains("Severity must be one of standard, critical")
    );
    assert!(reason::<crate::alert_topic::AlertTopics>(json!({"Environment": "dev", "TopicName": "alerts", "Subscriptions": [{"Protocol": "email", "Endpoint": "nobody"}]}))
        .starts_with("Custom::AlertTopic: Subscriptions[0].Endpoint must be a valid email endpoint"));
}

#[test]
fn composite_rules_name_their_alarms() {
    assert_eq!(
        crate::composite::referenced_alarms(
            "ALARM(cpu) OR (OK(\"mem high\") AND NOT INSUFFICIENT_DATA(disk))"
        ),
        ["cpu", "mem high", "disk"]
    );
}

/// What PutMetricAlarm, CreateLogGroup and TagResource refuse on AWS fails here first, naming
/// the property (issue: real-AWS rules).
#[test]
fn what_aws_refuses_at_deploy_time_fails_in_the_decoder() {
    let window = reason::<Alarm>(alarm(json!({"Period": 300, "EvaluationPeriods": 289})));
    assert!(
        window.contains("EvaluationPeriods times Period (300 s) must be at most 1 day"),
        "{window}"
    );
    let long = reason::<Alarm>(alarm(json!({"Period": 3600, "EvaluationPeriods": 169})));
    assert!(long.contains("at most 7 days"), "{long}");
    assert!(
        decode_properties::<Alarm>(&alarm(json!({"Period": 300, "EvaluationPeriods": 288})))
            .is_ok()
    );
    assert!(
        decode_properties::<Alarm>(&alarm(json!({"Period": 3600, "EvaluationPeriods": 168})))
            .is_ok()
    );

    let upper_aws = reason::<Alarm>(alarm(json!({"Tags": [{"Key": "AWS:team", "Value": "x"}]})));
    assert!(
        upper_aws.contains("Tags keys starting with aws:"),
        "{upper_aws}"
    );
    let tags: Vec<Value> = (0..41)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let many = reason::<Alarm>(alarm(json!({ "Tags": tags })));
    assert!(many.contains("Tags may hold at most 40 tags"), "{many}");
    assert!(many.contains("got 41 tags"), "{many}");

    type Group = Named<crate::log_groups::LogGroups>;
    let reserved = reason::<Group>(json!({"Environment": "dev", "LogGroupName": "aws/mine"}));
    assert!(
        reserved.contains("LogGroupName must not start with aws/"),
        "{reserved}"
    );

    let dotted = reason::<crate::baseline_lifecycle::AlarmBaselines>(
        json!({"Environment": "dev", "Prefix": "api.v2", "ClusterName": "orders"}),
    );
    assert!(
        dotted.contains("Prefix must be 1 to 100 letters, digits"),
        "{dotted}"
    );
}

mod plans {
    use super::*;
    use crate::cw::LiveAlarm;
    use crate::metric_alarm::{Step, plan};

    fn spec(extra: Value) -> crate::alarm_spec::AlarmSpec {
        decode_properties::<Alarm>(&alarm(extra))
            .expect("valid")
            .spec
    }

    fn in_step(spec: &crate::alarm_spec::AlarmSpec) -> LiveAlarm {
        LiveAlarm {
            name: spec.alarm_name.clone(),
            arn: format!(
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
                spec.alarm_name
            ),
            composite: false,
            definition: spec.definition(),
        }
    }

    #[test]
    fn an_alarm_in_step_plans_nothing_whatever_the_order_of_dimensions_and_actions() {
        let given = spec(
            json!({"Dimensions": [{"Name": "ServiceName", "Value": "api"}, {"Name": "ClusterName", "Value": "orders"}],
            "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:b", "arn:aws:sns:us-east-1:123456789012:a"]}),
        );
        let reordered = spec(
            json!({"Dimensions": {"ClusterName": "orders", "ServiceName": "api"},
            "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:a", "arn:aws:sns:us-east-1:123456789012:b"]}),
        );
        assert!(plan(&in_step(&given), &reordered).is_empty());
    }

    #[test]
    fn a_threshold_and_actions_changed_by_hand_are_planned_back_in_one_put() {
        let desired = spec(json!({"AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"]}));
        let mut live = in_step(&desired);
        live.definition.insert("Threshold", "95".to_owned());
        live.definition.insert("AlarmActions", String::new());
        let plan = plan(&live, &desired);
        assert_eq!(plan.properties(), ["AlarmActions", "Threshold"]);
        assert_eq!(
            (
                plan.changes[1].live.as_str(),
                plan.changes[1].desired.as_str()
            ),
            ("95", "80")
        );
        assert!(plan.needs(&Step::PutMetricAlarm));
    }

    #[test]
    fn tags_edited_or_dropped_are_planned_and_hand_made_ones_stay() {
        use crate::metric_alarm::plan_with_tags;
        use std::collections::BTreeMap;
        let props = |extra: Value| decode_properties::<Alarm>(&alarm(extra)).expect("valid");
        let old = props(
            json!({"Severity": "critical", "Runbook": "https://runbooks.example.com/cpu",
            "Tags": [{"Key": "team", "Value": "orders"}]}),
        );
        let live_tags = BTreeMap::from([
            ("severity".to_owned(), "info".to_owned()),
            (
                "runbook".to_owned(),
                "https://runbooks.example.com/cpu".to_owned(),
            ),
            ("team".to_owned(), "orders".to_owned()),
            ("by-hand".to_owned(), "x".to_owned()),
            ("stackhand:stack-id".to_owned(), "arn".to_owned()),
        ]);
        let live = in_step(&old.spec);
        let plan = plan_with_tags(&live, &live_tags, Some(&old), &old);
        assert_eq!(
            plan.changes.iter().map(|c| &c.step).collect::<Vec<_>>(),
            [&Step::Retag(
                vec![],
                vec![("severity".to_owned(), "critical".to_owned())]
            )]
        );
        assert_eq!(plan.changes[0].live, "severity=info");

        // Runbook and team gone from the properties: both removed, by-hand stays.
        let new = props(json!({"Severity": "critical"}));
        let mut in_step_tags = live_tags.clone();
        in_step_tags.insert("severity".to_owned(), "critical".to_owned());
        let plan = plan_with_tags(&live, &in_step_tags, Some(&old), &new);
        assert_eq!(
            plan.changes.iter().map(|c| &c.step).collect::<Vec<_>>(),
            [&Step::Retag(
                vec!["runbook".to_owned(), "team".to_owned()],
                vec![]
            )]
        );
    }

    #[test]
    fn defaults_aws_fills_in_are_not_drift() {
        // Without DatapointsToAlarm and TreatMissingData, CloudWatch reports the defaults.
        let desired = spec(json!({}));
        let mut live = in_step(&desired);
        live.definition.insert("DatapointsToAlarm", "1".to_owned());
        live.definition
            .insert("TreatMissingData", "missing".to_owned());
        assert!(plan(&live, &desired).is_empty());
    }

    #[test]
    fn a_single_metric_turned_into_an_anomaly_band_replaces_the_metric_fields() {
        let before = spec(json!({}));
        let band = spec(
            json!({"Threshold": null, "AnomalyBandWidth": 2, "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}),
        );
        let properties = plan(&in_step(&before), &band).properties();
        for property in [
            "Metrics",
            "Namespace",
            "MetricName",
            "Statistic",
            "Period",
            "Threshold",
        ] {
            assert!(properties.contains(&property), "{property}: {properties:?}");
        }
    }

    #[test]
    fn a_composite_rule_edited_by_hand_is_planned_back_and_action_order_is_not_drift() {
        use crate::composite::{Step as CompositeStep, plan as composite_plan};
        let props = |actions: Value| {
            decode_properties::<Composite>(&json!({"Environment": "uat", "AlarmName": "health",
                "AlarmRule": "ALARM(cpu) OR ALARM(memory)", "AlarmActions": actions}))
            .expect("valid")
        };
        let desired = props(json!([
            "arn:aws:sns:us-east-1:123456789012:b",
            "arn:aws:sns:us-east-1:123456789012:a"
        ]));
        let mut live = LiveAlarm {
            name: "health".to_owned(),
            arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:health".to_owned(),
            composite: true,
            definition: props(json!([
                "arn:aws:sns:us-east-1:123456789012:a",
                "arn:aws:sns:us-east-1:123456789012:b"
            ]))
            .definition(),
        };
        assert!(composite_plan(&live, &desired).is_empty());
        live.definition.insert("AlarmRule", "ALARM(cpu)".to_owned());
        let plan = composite_plan(&live, &desired);
        assert_eq!(plan.properties(), ["AlarmRule"]);
        assert_eq!(plan.changes[0].step, CompositeStep::PutCompositeAlarm);
    }
}
