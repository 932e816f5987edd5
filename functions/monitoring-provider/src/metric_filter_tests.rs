use super::*;

fn desired() -> FilterProps {
    FilterProps {
        environment: Environment::Dev,
        log_group_name: "/app".to_owned(),
        filter_name: "errors".to_owned(),
        pattern: "ERROR".to_owned(),
        namespace: "App".to_owned(),
        metric_name: "Errors".to_owned(),
        metric_value: "1".to_owned(),
        default_value: Some(0.0),
        unit: None,
        physical_id: "/app|errors".to_owned(),
    }
}

fn in_step(props: &FilterProps) -> LiveFilter {
    LiveFilter {
        physical_id: props.physical_id.clone(),
        pattern: props.pattern.clone(),
        namespace: props.namespace.clone(),
        metric_name: props.metric_name.clone(),
        metric_value: props.metric_value.clone(),
        default_value: props.default_value,
    }
}

#[test]
fn a_filter_in_step_plans_nothing() {
    assert!(plan(&in_step(&desired()), &desired()).is_empty());
}

#[test]
fn a_pattern_and_default_changed_by_hand_are_planned_back_in_one_put() {
    let mut live = in_step(&desired());
    live.pattern = "Exception".to_owned();
    live.default_value = None;
    let plan = plan(&live, &desired());
    assert_eq!(plan.properties(), ["FilterPattern", "DefaultValue"]);
    assert_eq!(
        (
            plan.changes[1].live.as_str(),
            plan.changes[1].desired.as_str()
        ),
        ("(none)", "0")
    );
    assert!(plan.changes.iter().all(|c| c.step == Step::PutMetricFilter));
}
