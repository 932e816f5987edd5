use super::*;
use serde_json::json;
use shared::cfn::decode_properties;

fn props(env: &str, services: &[&str], log: bool) -> BaselineProps {
    let mut doc = json!({"Environment": env, "Prefix": "orders", "ClusterName": "orders", "ServiceNames": services,
        "AlertTopicArn": "arn:aws:sns:us-east-1:111122223333:alerts", "CriticalTopicArn": "arn:aws:sns:us-east-1:111122223333:critical"});
    if log {
        doc["LogGroupName"] = json!("/orders/api");
    }
    decode_properties::<crate::baseline_lifecycle::AlarmBaselines>(&doc).expect("valid")
}

fn plan_of(p: &BaselineProps) -> Desired {
    desired(p, "us-east-1", |n| {
        format!("arn:aws:cloudwatch:us-east-1:111122223333:alarm:{n}")
    })
}

#[test]
fn sizes_follow_the_profile_for_every_environment() {
    for (env, services, min, max, dashboards) in [
        ("dev", 3, 1, 2, 0),
        ("qa", 3, 1, 3, 0),
        ("uat", 1, 5, 10, 1),
        ("uat", 4, 5, 10, 1),
        ("prod", 1, 20, usize::MAX, 2),
        ("prod", 3, 20, usize::MAX, 2),
    ] {
        let names: Vec<String> = (0..services).map(|i| format!("svc{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        for log in [false, true] {
            let plan = plan_of(&props(env, &refs, log));
            let n = plan.alarms.len();
            assert!(
                (min..=max).contains(&n),
                "{env} {services} services, log {log}: {n} alarms"
            );
            assert_eq!(plan.dashboards.len(), dashboards, "{env}");
            let mut unique = plan.alarm_names();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), n, "{env}: names are unique");
        }
    }
}

#[test]
fn prod_has_anomaly_bands_and_a_critical_composite() {
    let plan = plan_of(&props("prod", &["api"], true));
    let bands = plan
        .alarms
        .iter()
        .filter(|a| a.anomaly_band_width.is_some())
        .count();
    assert!(bands >= 4, "{bands}");
    let (name, rule) = plan.composite.expect("composite");
    assert_eq!(name, "orders-service-health");
    assert!(
        rule.contains("ALARM(\"orders-api-running-tasks-low\")"),
        "{rule}"
    );
    assert!(rule.contains(" OR "));
    for alarm in crate::composite::referenced_alarms(&rule) {
        assert!(plan.alarms.iter().any(|a| a.alarm_name == alarm), "{alarm}");
    }
    let critical = plan
        .alarms
        .iter()
        .find(|a| a.severity == "critical")
        .expect("a critical alarm");
    assert_eq!(
        critical.alarm_actions,
        ["arn:aws:sns:us-east-1:111122223333:critical"]
    );
    let warning = plan
        .alarms
        .iter()
        .find(|a| a.severity == "warning")
        .expect("a warning");
    assert_eq!(
        warning.alarm_actions,
        ["arn:aws:sns:us-east-1:111122223333:alerts"]
    );
    assert!(plan_of(&props("uat", &["api"], false)).composite.is_none());
    assert!(
        plan_of(&props("uat", &["api"], false))
            .alarms
            .iter()
            .all(|a| a.anomaly_band_width.is_none())
    );
}

#[test]
fn a_log_group_adds_the_error_filter_and_its_alarm() {
    let plan = plan_of(&props("dev", &[], true));
    let names = plan.alarm_names();
    assert_eq!(names, ["orders-cluster-cpu-high", "orders-log-errors"]);
    let filter = plan.filter.expect("filter");
    assert_eq!(
        (filter.log_group_name.as_str(), filter.filter_name.as_str()),
        ("/orders/api", "orders-errors")
    );
    assert!(plan_of(&props("dev", &[], false)).filter.is_none());
}

#[test]
fn critical_alerts_go_to_the_alert_topic_where_the_profile_has_no_critical_topic() {
    let plan = plan_of(&props("qa", &["api"], false));
    for alarm in &plan.alarms {
        assert_eq!(
            alarm.alarm_actions,
            ["arn:aws:sns:us-east-1:111122223333:alerts"],
            "{}",
            alarm.alarm_name
        );
    }
}

#[test]
fn uat_and_prod_need_services() {
    let err = decode_properties::<crate::baseline_lifecycle::AlarmBaselines>(
        &json!({"Environment": "prod", "Prefix": "p", "ClusterName": "c"}),
    )
    .expect_err("no services");
    assert_eq!(
        err.to_string(),
        "Custom::AlarmBaseline: ServiceNames is required when Environment is prod (the baseline watches each service)"
    );
}

#[test]
fn dashboard_bodies_pass_their_own_check() {
    let plan = plan_of(&props("prod", &["api", "worker"], true));
    for (name, body) in &plan.dashboards {
        let p = shared::Props::new("Custom::Dashboard", &json!({})).expect("props");
        crate::dashboard::check_body(&p, "DashboardBody", body.clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
