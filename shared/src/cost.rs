//! What the resources stackhand makes cost every month whatever they do: the fixed part of the
//! bill, from AWS's public price pages. What depends on usage (requests, log ingestion and
//! storage, Fargate tasks, custom metrics, notifications) is left out and named by each type
//! ([`excluded`]), so an estimate never pretends to be the whole bill.
//!
//! The prices, their Region, date and sources, and what each type leaves out, are one file,
//! `shared/prices.json`, which `make cost` reads too. Other Regions or a negotiated price: the
//! `PRICES` environment variable of the providers (docs/operations.md, "What it costs").

use crate::settings::{SettingError, Settings};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const PUBLISHED: &str = include_str!("../prices.json");

#[derive(serde::Deserialize)]
struct Published {
    region: String,
    as_of: String,
    usd_per_month: BTreeMap<String, f64>,
    excluded: BTreeMap<String, String>,
}

/// prices.json, read once; a unit test keeps it readable, so the fallback (no prices, which
/// every estimate would show as 0.00) is only ever a logged error.
fn published() -> &'static Published {
    static FILE: OnceLock<Published> = OnceLock::new();
    FILE.get_or_init(|| {
        serde_json::from_str(PUBLISHED).unwrap_or_else(|err| {
            tracing::error!(error = %err, "shared/prices.json does not read");
            Published {
                region: "unknown".to_owned(),
                as_of: "unknown".to_owned(),
                usd_per_month: BTreeMap::new(),
                excluded: BTreeMap::new(),
            }
        })
    })
}

/// Unit prices in US dollars a month.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prices {
    /// The Region (or source) the prices are for, shown beside every figure.
    pub region: String,
    /// When they were read.
    pub as_of: String,
    pub kms_key: f64,
    pub alarm_metric: f64,
    pub high_resolution_alarm_metric: f64,
    pub composite_alarm: f64,
    pub dashboard: f64,
}

/// The names `PRICES` (and prices.json's `usd_per_month`) use.
pub const PRICE_NAMES: [&str; 5] = [
    "kms-key",
    "alarm-metric",
    "high-resolution-alarm-metric",
    "composite-alarm",
    "dashboard",
];

impl Prices {
    /// As published in prices.json (us-east-1).
    pub fn published() -> Prices {
        let file = published();
        let mut prices = Prices {
            region: file.region.clone(),
            as_of: file.as_of.clone(),
            ..Prices::default()
        };
        for (name, usd) in &file.usd_per_month {
            if let Some(slot) = prices.slot(name) {
                *slot = *usd;
            }
        }
        prices
    }

    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        match name {
            "kms-key" => Some(&mut self.kms_key),
            "alarm-metric" => Some(&mut self.alarm_metric),
            "high-resolution-alarm-metric" => Some(&mut self.high_resolution_alarm_metric),
            "composite-alarm" => Some(&mut self.composite_alarm),
            "dashboard" => Some(&mut self.dashboard),
            _ => None,
        }
    }

    /// The published prices with `PRICES` applied: a comma-separated list of `name=value`
    /// (for example `region=eu-west-1,dashboard=3.00`; `region` and `as-of` label the figures);
    /// an unknown name or a value that is not a non-negative amount is an error naming it.
    pub fn from_settings<F: Fn(&str) -> Option<String>>(
        settings: &Settings<F>,
    ) -> Result<Prices, SettingError> {
        let mut prices = Prices::published();
        for item in settings.list("PRICES") {
            let problem = |problem: String| SettingError {
                name: "PRICES",
                problem,
            };
            let Some((name, value)) = item.split_once('=') else {
                return Err(problem(format!("must be name=value pairs, got \"{item}\"")));
            };
            let (name, value) = (name.trim(), value.trim());
            match name {
                "region" => prices.region = value.to_owned(),
                "as-of" => prices.as_of = value.to_owned(),
                _ => {
                    let Some(slot) = prices.slot(name) else {
                        return Err(problem(format!(
                            "names an unknown price \"{name}\"; known: region, as-of, {}",
                            PRICE_NAMES.join(", ")
                        )));
                    };
                    *slot = match value.parse::<f64>() {
                        Ok(v) if v.is_finite() && v >= 0.0 => v,
                        _ => {
                            return Err(problem(format!(
                                "{name} must be a non-negative amount in US dollars, got \"{value}\""
                            )));
                        }
                    };
                }
            }
        }
        Ok(prices)
    }

    /// The prices from the process environment, read once; a bad `PRICES` is logged and the
    /// published prices are used, so a typo in a price never blocks a stack.
    pub fn from_env() -> &'static Prices {
        static PRICES: OnceLock<Prices> = OnceLock::new();
        PRICES.get_or_init(|| {
            Prices::from_settings(&Settings::from_env()).unwrap_or_else(|err| {
                tracing::error!(error = %err, "using the published prices");
                Prices::published()
            })
        })
    }
}

/// What a resource makes that is billed by the month, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Billed {
    pub kms_keys: u32,
    /// Standard-resolution alarm metrics (an anomaly-band alarm counts three).
    pub alarm_metrics: u32,
    pub high_resolution_alarm_metrics: u32,
    pub composite_alarms: u32,
    pub dashboards: u32,
}

impl Billed {
    /// Nothing billed by the month (a cluster, a topic).
    pub const NONE: Billed = Billed {
        kms_keys: 0,
        alarm_metrics: 0,
        high_resolution_alarm_metrics: 0,
        composite_alarms: 0,
        dashboards: 0,
    };

    pub fn monthly_usd(&self, prices: &Prices) -> f64 {
        f64::from(self.kms_keys) * prices.kms_key
            + f64::from(self.alarm_metrics) * prices.alarm_metric
            + f64::from(self.high_resolution_alarm_metrics) * prices.high_resolution_alarm_metric
            + f64::from(self.composite_alarms) * prices.composite_alarm
            + f64::from(self.dashboards) * prices.dashboard
    }

    /// The attribute's text: dollars with cents, `12.30`.
    pub fn attribute(&self, prices: &Prices) -> String {
        format!("{:.2}", self.monthly_usd(prices))
    }
}

impl std::ops::Add for Billed {
    type Output = Billed;

    fn add(self, other: Billed) -> Billed {
        Billed {
            kms_keys: self.kms_keys + other.kms_keys,
            alarm_metrics: self.alarm_metrics + other.alarm_metrics,
            high_resolution_alarm_metrics: self.high_resolution_alarm_metrics
                + other.high_resolution_alarm_metrics,
            composite_alarms: self.composite_alarms + other.composite_alarms,
            dashboards: self.dashboards + other.dashboards,
        }
    }
}

/// The attribute every type with a fixed monthly cost returns.
pub const ATTRIBUTE: &str = "EstimatedMonthlyCostUsd";

/// What the estimate of `resource_type` leaves out: what the bill adds with use.
pub fn excluded(resource_type: &str) -> &'static str {
    published()
        .excluded
        .get(resource_type)
        .map_or("", String::as_str)
}

/// The types that return [`ATTRIBUTE`].
pub const ESTIMATED_TYPES: [&str; 8] = [
    "Custom::KmsKey",
    "Custom::KmsKeySet",
    "Custom::MetricAlarm",
    "Custom::CompositeAlarm",
    "Custom::Dashboard",
    "Custom::AlarmBaseline",
    "Custom::EcsCluster",
    "Custom::AlertTopic",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(prices: &str) -> Settings<impl Fn(&str) -> Option<String>> {
        let prices = prices.to_owned();
        Settings::new(move |name| (name == "PRICES").then(|| prices.clone()))
    }

    #[test]
    fn published_prices_add_up() {
        let billed = Billed {
            kms_keys: 4,
            alarm_metrics: 23,
            high_resolution_alarm_metrics: 1,
            composite_alarms: 1,
            dashboards: 2,
        };
        assert_eq!(billed.attribute(&Prices::published()), "13.10");
        assert_eq!((billed + billed).attribute(&Prices::published()), "26.20");
    }

    #[test]
    fn prices_can_be_overridden_and_bad_ones_are_named() {
        let prices =
            Prices::from_settings(&settings("region=eu-west-1, dashboard=3.5")).expect("valid");
        assert_eq!(prices.region, "eu-west-1");
        assert_eq!(prices.dashboard, 3.5);
        assert_eq!(prices.kms_key, 1.0);
        assert_eq!(prices.alarm_metric, Prices::published().alarm_metric);
        let err = Prices::from_settings(&settings("dashbord=3")).expect_err("unknown");
        assert!(
            err.to_string().contains("unknown price \"dashbord\""),
            "{err}"
        );
        let err = Prices::from_settings(&settings("kms-key=-1")).expect_err("negative");
        assert!(
            err.to_string().contains("kms-key must be a non-negative"),
            "{err}"
        );
        let err = Prices::from_settings(&settings("kms-key")).expect_err("no value");
        assert!(err.to_string().contains("name=value"), "{err}");
    }

    #[test]
    fn prices_json_reads_and_prices_every_name() {
        let file: Published = serde_json::from_str(PUBLISHED).expect("shared/prices.json reads");
        let mut names: Vec<&str> = file.usd_per_month.keys().map(String::as_str).collect();
        names.sort();
        let mut known = PRICE_NAMES.to_vec();
        known.sort();
        assert_eq!(names, known);
        assert_eq!(Prices::published().region, "us-east-1");
        assert!(file.usd_per_month.values().all(|usd| *usd > 0.0));
    }

    #[test]
    fn every_type_with_an_estimate_names_what_it_leaves_out() {
        for resource_type in ESTIMATED_TYPES {
            assert!(!excluded(resource_type).is_empty(), "{resource_type}");
        }
        assert!(!excluded("template.yaml").is_empty());
    }
}
