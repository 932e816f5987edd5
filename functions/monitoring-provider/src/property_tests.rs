//! Every monitoring type's decoder under any JSON value in any property: starting from each
//! sample Create in events/, one property (or an unknown one) is replaced at a time.

use crate::{
    AlarmBaselines, AlertTopics, CompositeAlarms, Dashboards, MetricAlarms, MetricFilters,
    QueryDefinitions,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use shared::cfn::Named;
use shared::test_support::{any_json, decodes_or_names_itself};

const SAMPLES: [&str; 8] = [
    include_str!("../../../events/monitoring-provider/metric-alarm-create.json"),
    include_str!("../../../events/monitoring-provider/metric-alarm-replace-anomaly.json"),
    include_str!("../../../events/monitoring-provider/composite-alarm-create.json"),
    include_str!("../../../events/monitoring-provider/dashboard-create.json"),
    include_str!("../../../events/monitoring-provider/metric-filter-create.json"),
    include_str!("../../../events/monitoring-provider/query-definition-create.json"),
    include_str!("../../../events/monitoring-provider/alert-topic-create.json"),
    include_str!("../../../events/monitoring-provider/baseline-create.json"),
];

fn check(sample: &str, pick: usize, value: Value) -> Result<(), TestCaseError> {
    let event: Value = serde_json::from_str(sample).expect("sample is JSON");
    let base = event["ResourceProperties"].clone();
    let mut fields: Vec<String> = base
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    fields.push("NotAProperty".to_owned());
    let field = &fields[pick % fields.len()];
    match event["ResourceType"].as_str().unwrap_or_default() {
        "Custom::MetricAlarm" => {
            decodes_or_names_itself::<Named<MetricAlarms>>(&base, field, value)
        }
        "Custom::CompositeAlarm" => {
            decodes_or_names_itself::<Named<CompositeAlarms>>(&base, field, value)
        }
        "Custom::Dashboard" => decodes_or_names_itself::<Named<Dashboards>>(&base, field, value),
        "Custom::MetricFilter" => {
            decodes_or_names_itself::<Named<MetricFilters>>(&base, field, value)
        }
        "Custom::QueryDefinition" => {
            decodes_or_names_itself::<QueryDefinitions>(&base, field, value)
        }
        "Custom::AlertTopic" => decodes_or_names_itself::<AlertTopics>(&base, field, value),
        "Custom::AlarmBaseline" => decodes_or_names_itself::<AlarmBaselines>(&base, field, value),
        other => panic!("no decoder for {other}"),
    }
}

#[test]
fn every_sample_decodes_as_it_is() {
    for sample in SAMPLES {
        // Index 0 with the property's own value: the unmodified sample.
        let event: Value = serde_json::from_str(sample).expect("JSON");
        let base = &event["ResourceProperties"];
        let first = base.as_object().expect("object").values().next().cloned();
        check(sample, 0, first.expect("a property")).expect("the sample is valid");
    }
}

proptest! {
    #[test]
    fn any_json_in_any_property_of_any_type_decodes_or_names_itself(
        sample in proptest::sample::select(SAMPLES.to_vec()),
        pick in 0usize..64,
        value in any_json(),
    ) {
        check(sample, pick, value)?;
    }
}
