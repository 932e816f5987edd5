//! The detector's result: each recorded resource that is not in step, counted by type, and
//! the ones that could not be checked; with the SNS summary and the metrics made from it.

use crate::repair::RepairOutcome;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde::Serialize;
use shared::cfn::{Drift, Drifted};
use shared::records::Record;
use std::collections::BTreeMap;

/// SNS subjects hold at most 100 characters.
const MAX_SUBJECT: usize = 100;
/// Resources listed one by one in the message; the rest are counted.
const MAX_LISTED: usize = 100;

/// One resource that is not as its stack last applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDrift {
    pub stack: String,
    pub stack_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `MODIFIED`, `DELETED` or `NOT_OWNED`.
    pub status: &'static str,
    pub differences: Vec<Drifted>,
    /// When the provider last applied the properties.
    pub recorded_at: String,
}

/// A resource whose check failed (AWS refused a read, or its record no longer decodes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckError {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub error: String,
}

/// Per type: how many were checked and how many drifted (deleted and not owned included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeCount {
    pub checked: usize,
    pub drifted: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub table: String,
    pub resources_checked: usize,
    pub in_sync: usize,
    pub drifted: Vec<ResourceDrift>,
    pub by_type: BTreeMap<String, TypeCount>,
    pub errors: Vec<CheckError>,
    /// Records of types no provider checks (a newer release's, or a hand-written item).
    pub not_checked: Vec<String>,
    /// Items in the table that are not records (named by key, with why).
    pub unreadable_records: Vec<String>,
    /// With `REPAIR=true`: each drifted resource, put back or why not.
    pub repairs: Vec<RepairOutcome>,
    /// The drifted records with their drift, for the repair that may follow.
    #[serde(skip)]
    pub repair_candidates: Vec<(Record, Drift)>,
}

impl Report {
    pub fn new(table: &str, unreadable_records: Vec<String>) -> Report {
        Report {
            table: table.to_owned(),
            unreadable_records,
            ..Report::default()
        }
    }

    /// Counts one record's outcome.
    pub fn add(&mut self, record: &Record, outcome: Result<Drift, String>) {
        let drift = match outcome {
            Ok(Drift::Unchecked) => {
                self.not_checked
                    .push(format!("{} {}", record.resource_type, record.key()));
                return;
            }
            Ok(drift) => drift,
            Err(error) => {
                self.errors.push(CheckError {
                    stack: record.stack_name().to_owned(),
                    logical_id: record.logical_id.clone(),
                    resource_type: record.resource_type.clone(),
                    physical_id: record.physical_id.clone(),
                    error,
                });
                return;
            }
        };
        self.resources_checked += 1;
        let count = self
            .by_type
            .entry(record.resource_type.clone())
            .or_default();
        count.checked += 1;
        let candidate = drift.clone();
        let differences = match drift {
            Drift::InStep => {
                self.in_sync += 1;
                return;
            }
            Drift::Drifted(differences) => differences,
            Drift::Deleted => vec![Drifted {
                property: "(resource)".to_owned(),
                desired: record.physical_id.clone(),
                live: "(deleted)".to_owned(),
            }],
            Drift::Foreign(who) => vec![Drifted {
                property: "(owner)".to_owned(),
                desired: format!("{} {}", record.stack_name(), record.logical_id),
                live: who,
            }],
            Drift::Unchecked => Vec::new(),
        };
        count.drifted += 1;
        self.repair_candidates.push((record.clone(), candidate));
        self.drifted.push(ResourceDrift {
            stack: record.stack_name().to_owned(),
            stack_id: record.stack_id.clone(),
            logical_id: record.logical_id.clone(),
            resource_type: record.resource_type.clone(),
            physical_id: record.physical_id.clone(),
            status: drift_status(&differences),
            differences,
            recorded_at: record.recorded_at.clone(),
        });
    }

    pub fn subject(&self) -> String {
        let subject = format!(
            "stackhand drift: {} of {} resources drifted",
            self.drifted.len(),
            self.resources_checked
        );
        subject.chars().take(MAX_SUBJECT).collect()
    }

    /// The summary a person reads: each drifted resource with its differences.
    pub fn message(&self) -> String {
        let mut lines = vec![
            "stackhand drift-detector".to_owned(),
            format!(
                "Resources checked: {} ({} in sync, {} drifted, {} could not be checked)",
                self.resources_checked,
                self.in_sync,
                self.drifted.len(),
                self.errors.len()
            ),
        ];
        for (resource_type, count) in &self.by_type {
            lines.push(format!(
                "  {resource_type:<26} {:>4} checked {:>4} drifted",
                count.checked, count.drifted
            ));
        }
        for drift in self.drifted.iter().take(MAX_LISTED) {
            lines.push(String::new());
            lines.push(format!(
                "[{}] {} {} ({}, {})",
                drift.status, drift.stack, drift.logical_id, drift.resource_type, drift.physical_id
            ));
            for d in &drift.differences {
                lines.push(format!(
                    "    {}: live {} / stack {}",
                    d.property, d.live, d.desired
                ));
            }
        }
        if self.drifted.len() > MAX_LISTED {
            lines.push(format!(
                "... and {} more in the JSON report",
                self.drifted.len() - MAX_LISTED
            ));
        }
        for repair in &self.repairs {
            lines.push(match &repair.reason {
                None => format!(
                    "[REPAIRED] {} {} ({})",
                    repair.stack, repair.logical_id, repair.resource_type
                ),
                Some(why) => format!(
                    "[NOT REPAIRED] {} {} ({}): {why}",
                    repair.stack, repair.logical_id, repair.resource_type
                ),
            });
        }
        for error in &self.errors {
            lines.push(format!(
                "[NOT CHECKED] {} {} ({}): {}",
                error.stack, error.logical_id, error.resource_type, error.error
            ));
        }
        lines.join("\n")
    }

    /// `DriftedResources` and `ResourcesChecked` per type, zero included, and the total.
    pub fn metric_data(&self) -> Vec<MetricDatum> {
        let datum = |name: &str, resource_type: Option<&str>, value: usize| {
            let builder = MetricDatum::builder()
                .metric_name(name)
                .value(value as f64)
                .unit(StandardUnit::Count);
            match resource_type {
                Some(t) => {
                    builder.dimensions(Dimension::builder().name("ResourceType").value(t).build())
                }
                None => builder,
            }
            .build()
        };
        let repaired = self.repairs.iter().filter(|r| r.repaired).count();
        let mut data = vec![
            datum("DriftedResources", None, self.drifted.len()),
            datum("ResourcesChecked", None, self.resources_checked),
            datum("RepairedResources", None, repaired),
        ];
        for (resource_type, count) in &self.by_type {
            data.push(datum(
                "DriftedResources",
                Some(resource_type),
                count.drifted,
            ));
            data.push(datum(
                "ResourcesChecked",
                Some(resource_type),
                count.checked,
            ));
        }
        data
    }
}

fn drift_status(differences: &[Drifted]) -> &'static str {
    match differences.first().map(|d| d.property.as_str()) {
        Some("(resource)") => "DELETED",
        Some("(owner)") => "NOT_OWNED",
        _ => "MODIFIED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(resource_type: &str, logical_id: &str) -> Record {
        Record {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/monitoring-prod/9f"
                .to_owned(),
            logical_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            physical_id: format!("/app/{logical_id}"),
            properties: json!({}),
            recorded_at: "2026-12-01T00:00:00Z".to_owned(),
        }
    }

    fn retention() -> Drift {
        Drift::Drifted(vec![Drifted {
            property: "RetentionInDays".to_owned(),
            desired: "365".to_owned(),
            live: "7".to_owned(),
        }])
    }

    #[test]
    fn each_outcome_is_counted_once_under_its_type() {
        let mut report = Report::new("records", vec![]);
        report.add(&record("Custom::LogGroup", "AppLogs"), Ok(retention()));
        report.add(&record("Custom::LogGroup", "AuditLogs"), Ok(Drift::InStep));
        report.add(&record("Custom::Dashboard", "Ops"), Ok(Drift::Deleted));
        report.add(
            &record("Custom::MetricAlarm", "Errors"),
            Err("DescribeAlarms failed".to_owned()),
        );
        report.add(&record("Custom::Future", "New"), Ok(Drift::Unchecked));
        assert_eq!(report.resources_checked, 3);
        assert_eq!(report.in_sync, 1);
        assert_eq!(
            report.by_type["Custom::LogGroup"],
            TypeCount {
                checked: 2,
                drifted: 1
            }
        );
        let statuses: Vec<&str> = report.drifted.iter().map(|d| d.status).collect();
        assert_eq!(statuses, ["MODIFIED", "DELETED"]);
        assert_eq!(report.drifted[0].stack, "monitoring-prod");
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.not_checked.len(), 1);
    }

    #[test]
    fn the_message_names_the_resource_property_and_both_values() {
        let mut report = Report::new("records", vec![]);
        report.add(&record("Custom::LogGroup", "AppLogs"), Ok(retention()));
        let message = report.message();
        assert!(
            message.contains("[MODIFIED] monitoring-prod AppLogs (Custom::LogGroup, /app/AppLogs)"),
            "{message}"
        );
        assert!(
            message.contains("RetentionInDays: live 7 / stack 365"),
            "{message}"
        );
        assert_eq!(
            report.subject(),
            "stackhand drift: 1 of 1 resources drifted"
        );
    }

    #[test]
    fn metrics_count_drifted_resources_by_type_with_zeros() {
        let mut report = Report::new("records", vec![]);
        report.add(&record("Custom::LogGroup", "AppLogs"), Ok(retention()));
        report.add(&record("Custom::Dashboard", "Ops"), Ok(Drift::InStep));
        let drifted: Vec<(Option<String>, f64)> = report
            .metric_data()
            .into_iter()
            .filter(|d| d.metric_name() == Some("DriftedResources"))
            .map(|d| {
                let dimension = d
                    .dimensions()
                    .first()
                    .and_then(|x| x.value())
                    .map(str::to_owned);
                (dimension, d.value().unwrap_or(-1.0))
            })
            .collect();
        assert_eq!(
            drifted,
            [
                (None, 1.0),
                (Some("Custom::Dashboard".to_owned()), 0.0),
                (Some("Custom::LogGroup".to_owned()), 1.0)
            ]
        );
    }
}
