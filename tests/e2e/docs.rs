//! docs/resources.md is part of the product: every documented property is one the decoder
//! reads, and every attribute one the provider returns.

use serde_json::{Value, json};
use shared::Problem;
use shared::cfn::{CustomResource, Named, decode_properties};

/// The `## <type>` section: first-column property names, and the `Attributes:` line.
fn documented(resource_type: &str) -> (Vec<String>, Vec<String>) {
    let path = e2e::emulator::workspace_root().join("docs/resources.md");
    let text = std::fs::read_to_string(path).expect("docs/resources.md");
    let section = text
        .split(&format!("## {resource_type}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/resources.md has no section for {resource_type}"))
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let names_in = |line: &str| -> Vec<String> {
        line.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let properties = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| names_in(l).into_iter().next())
        .collect();
    let attributes = section
        .lines()
        .find(|l| l.starts_with("Attributes:"))
        .map(names_in)
        .unwrap_or_default();
    (properties, attributes)
}

/// With a valid minimal document plus one bogus property, the unknown-property error lists
/// every property the decoder read.
fn decoded_properties<R: CustomResource>(minimal: Value) -> Vec<String> {
    let mut doc = minimal;
    doc["Bogus"] = json!(1);
    let err = decode_properties::<R>(&doc)
        .err()
        .expect("Bogus is unknown");
    match err.problem {
        Problem::Unknown { allowed } => allowed,
        other => panic!(
            "{}: expected an unknown-property error, got {other}",
            R::RESOURCE_TYPE
        ),
    }
}

fn check<R: CustomResource>(minimal: Value, attributes: &[&str]) {
    let (mut properties, documented_attributes) = documented(R::RESOURCE_TYPE);
    properties.sort();
    assert_eq!(
        properties,
        decoded_properties::<R>(minimal),
        "{}: documented properties differ from the decoder's",
        R::RESOURCE_TYPE
    );
    assert_eq!(
        documented_attributes,
        attributes,
        "{}: documented attributes differ from the provider's",
        R::RESOURCE_TYPE
    );
}

#[test]
fn log_group_docs_match_the_decoder() {
    use monitoring_provider::log_group::ATTRIBUTES;
    use monitoring_provider::log_groups::LogGroups;
    check::<Named<LogGroups>>(
        json!({"Environment": "dev", "LogGroupName": "/a"}),
        &ATTRIBUTES,
    );
}

#[test]
fn ecs_cluster_docs_match_the_decoder() {
    use ecs_provider::EcsClusters;
    use ecs_provider::cluster::ATTRIBUTES;
    check::<Named<EcsClusters>>(
        json!({"Environment": "dev", "ClusterName": "a"}),
        &ATTRIBUTES,
    );
}

#[test]
fn kms_key_docs_match_the_decoder() {
    use kms_provider::KmsKeys;
    use kms_provider::key::ATTRIBUTES;
    check::<KmsKeys>(json!({"Environment": "dev"}), &ATTRIBUTES);
}

#[test]
fn kms_key_set_docs_match_the_decoder() {
    use kms_provider::KmsKeySets;
    use kms_provider::key_set::{ALL_KEY_NAMES, attribute_stem};
    let mut attributes: Vec<String> = ALL_KEY_NAMES
        .iter()
        .flat_map(|n| {
            let stem = attribute_stem(n);
            [format!("{stem}KeyArn"), format!("{stem}KeyId")]
        })
        .collect();
    attributes.push("KeyCount".to_owned());
    attributes.push("EstimatedMonthlyCostUsd".to_owned());
    let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
    check::<KmsKeySets>(json!({"Environment": "dev", "Prefix": "p"}), &attributes);
}

#[test]
fn monitoring_docs_match_the_decoders() {
    use monitoring_provider::*;
    check::<Named<metric_alarm::MetricAlarms>>(
        json!({"Environment": "dev", "AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}),
        &metric_alarm::ATTRIBUTES,
    );
    check::<Named<composite::CompositeAlarms>>(
        json!({"Environment": "dev", "AlarmName": "c", "AlarmRule": "ALARM(a)"}),
        &composite::ATTRIBUTES,
    );
    check::<Named<dashboard::Dashboards>>(
        json!({"Environment": "dev", "DashboardName": "d", "DashboardBody": {"widgets": []}}),
        &dashboard::ATTRIBUTES,
    );
    check::<Named<metric_filter::MetricFilters>>(
        json!({"Environment": "dev", "LogGroupName": "/a", "FilterName": "f", "MetricNamespace": "N", "MetricName": "M"}),
        &metric_filter::ATTRIBUTES,
    );
    check::<query_definitions::QueryDefinitions>(
        json!({"Environment": "dev", "Name": "q", "QueryString": "fields @message"}),
        &query_definition::ATTRIBUTES,
    );
    check::<alert_topic::AlertTopics>(
        json!({"Environment": "dev", "TopicName": "t"}),
        &alert_topic::ATTRIBUTES,
    );
    check::<baseline_lifecycle::AlarmBaselines>(
        json!({"Environment": "dev", "Prefix": "p", "ClusterName": "c"}),
        &baseline::ATTRIBUTES,
    );
}

/// Every test file under tests/e2e runs: a file without its `[[test]]` entry in
/// tests/Cargo.toml (autotests are off) would be silently dropped. Files in a folder run as
/// the modules of that folder's `main.rs`, which must itself be an entry.
#[test]
fn every_end_to_end_file_is_a_test_target() {
    let root = e2e::emulator::workspace_root().join("tests");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("tests/Cargo.toml");
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("path = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("e2e")).expect("tests/e2e") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let wanted = if path.is_dir() {
            if name == "common" {
                continue; // shared helpers, `mod common;` in each test file
            }
            format!("e2e/{name}/main.rs")
        } else if name.ends_with(".rs") {
            format!("e2e/{name}")
        } else {
            continue;
        };
        if !targets.contains(&wanted.as_str()) {
            missing.push(wanted);
        }
    }
    assert!(
        missing.is_empty(),
        "add a [[test]] entry to tests/Cargo.toml for: {missing:?}"
    );
}
