//! The environment profiles (docs/contract.md), defined here and nowhere else.
//! An explicit property always wins over these defaults.

use crate::props::{Problem, PropertyError, Props};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Environment {
    Dev,
    Qa,
    Uat,
    Prod,
}

/// ECS capacity provider strategy entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityShare {
    pub provider: &'static str,
    pub weight: i32,
    pub base: i32,
}

/// How many alarms `Custom::AlarmBaseline` creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmCount {
    pub min: usize,
    pub max: Option<usize>,
}

/// Every setting that depends on the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub environment: Environment,
    pub key_set: &'static [&'static str],
    pub kms_pending_window_days: i32,
    pub retain_on_delete: bool,
    pub log_retention_days: i32,
    pub encryption_required: bool,
    pub ecs_exec: bool,
    pub service_connect: bool,
    pub container_insights: &'static str,
    pub capacity_strategy: &'static [CapacityShare],
    pub baseline_alarms: AlarmCount,
    pub anomaly_alarms: bool,
    pub critical_alerts: bool,
    pub baseline_dashboards: usize,
}

const SPOT: CapacityShare = CapacityShare {
    provider: "FARGATE_SPOT",
    weight: 1,
    base: 0,
};

const DEV: Profile = Profile {
    environment: Environment::Dev,
    key_set: &["main"],
    kms_pending_window_days: 7,
    retain_on_delete: false,
    log_retention_days: 7,
    encryption_required: false,
    ecs_exec: true,
    service_connect: false,
    container_insights: "enabled",
    capacity_strategy: &[SPOT],
    baseline_alarms: AlarmCount {
        min: 1,
        max: Some(2),
    },
    anomaly_alarms: false,
    critical_alerts: false,
    baseline_dashboards: 0,
};

const QA: Profile = Profile {
    environment: Environment::Qa,
    key_set: &["main", "data"],
    kms_pending_window_days: 14,
    retain_on_delete: false,
    log_retention_days: 14,
    encryption_required: true,
    ecs_exec: true,
    service_connect: false,
    container_insights: "enabled",
    capacity_strategy: &[SPOT],
    baseline_alarms: AlarmCount {
        min: 1,
        max: Some(3),
    },
    anomaly_alarms: false,
    critical_alerts: false,
    baseline_dashboards: 0,
};

const UAT: Profile = Profile {
    environment: Environment::Uat,
    key_set: &["main", "rds", "s3", "ebs"],
    kms_pending_window_days: 30,
    retain_on_delete: true,
    log_retention_days: 30,
    encryption_required: true,
    ecs_exec: false,
    service_connect: true,
    container_insights: "enabled",
    capacity_strategy: &[
        CapacityShare {
            provider: "FARGATE",
            weight: 1,
            base: 1,
        },
        SPOT,
    ],
    baseline_alarms: AlarmCount {
        min: 5,
        max: Some(10),
    },
    anomaly_alarms: false,
    critical_alerts: true,
    baseline_dashboards: 1,
};

const PROD: Profile = Profile {
    environment: Environment::Prod,
    key_set: &["main", "rds", "s3", "ebs"],
    kms_pending_window_days: 30,
    retain_on_delete: true,
    log_retention_days: 90,
    encryption_required: true,
    ecs_exec: false,
    service_connect: true,
    container_insights: "enabled",
    capacity_strategy: &[CapacityShare {
        provider: "FARGATE",
        weight: 1,
        base: 2,
    }],
    baseline_alarms: AlarmCount { min: 20, max: None },
    anomaly_alarms: true,
    critical_alerts: true,
    baseline_dashboards: 2,
};

impl Environment {
    pub const ALL: [Environment; 4] = [
        Environment::Dev,
        Environment::Qa,
        Environment::Uat,
        Environment::Prod,
    ];
    pub const NAMES: [&'static str; 4] = ["dev", "qa", "uat", "prod"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(text: &str) -> Option<Environment> {
        let index = Self::NAMES.iter().position(|n| *n == text)?;
        Some(Self::ALL[index])
    }

    pub fn profile(self) -> &'static Profile {
        match self {
            Environment::Dev => &DEV,
            Environment::Qa => &QA,
            Environment::Uat => &UAT,
            Environment::Prod => &PROD,
        }
    }

    /// The required `Environment` property.
    pub fn decode(props: &mut Props) -> Result<Environment, PropertyError> {
        const NAME: &str = "Environment";
        match props.optional_choice(NAME, &Self::NAMES)? {
            Some(name) => Environment::parse(name).ok_or_else(|| {
                props.error(
                    NAME,
                    Problem::NotOneOf {
                        allowed: Self::NAMES.iter().map(|n| (*n).to_owned()).collect(),
                        got: name.to_owned(),
                    },
                )
            }),
            None => Err(props.error(NAME, Problem::Missing)),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for env in Environment::ALL {
            assert_eq!(Environment::parse(env.as_str()), Some(env));
            assert_eq!(env.profile().environment, env);
        }
        assert_eq!(Environment::parse("Prod"), None);
        assert_eq!(Environment::parse("staging"), None);
    }

    #[test]
    fn table_matches_design() {
        let windows: Vec<i32> = Environment::ALL
            .iter()
            .map(|e| e.profile().kms_pending_window_days)
            .collect();
        assert_eq!(windows, [7, 14, 30, 30]);
        let retention: Vec<i32> = Environment::ALL
            .iter()
            .map(|e| e.profile().log_retention_days)
            .collect();
        assert_eq!(retention, [7, 14, 30, 90]);
        let retain: Vec<bool> = Environment::ALL
            .iter()
            .map(|e| e.profile().retain_on_delete)
            .collect();
        assert_eq!(retain, [false, false, true, true]);
        let encrypt: Vec<bool> = Environment::ALL
            .iter()
            .map(|e| e.profile().encryption_required)
            .collect();
        assert_eq!(encrypt, [false, true, true, true]);
        assert_eq!(Environment::Qa.profile().key_set, ["main", "data"]);
        assert_eq!(
            Environment::Prod.profile().key_set,
            ["main", "rds", "s3", "ebs"]
        );
        assert_eq!(Environment::Prod.profile().capacity_strategy[0].base, 2);
        assert_eq!(Environment::Uat.profile().capacity_strategy.len(), 2);
        assert!(Environment::Prod.profile().anomaly_alarms);
        assert!(!Environment::Uat.profile().anomaly_alarms);
    }

    #[test]
    fn no_profile_deletes_keys_faster_than_kms_allows() {
        for env in Environment::ALL {
            let window = env.profile().kms_pending_window_days;
            assert!((7..=30).contains(&window), "{env}: {window}");
        }
    }

    #[test]
    fn environment_is_required_and_checked() {
        let mut props = Props::new("Custom::LogGroup", &json!({})).expect("object");
        let err = Environment::decode(&mut props).expect_err("missing");
        assert_eq!(err.to_string(), "Custom::LogGroup: Environment is required");

        let mut props =
            Props::new("Custom::LogGroup", &json!({"Environment": "staging"})).expect("object");
        let err = Environment::decode(&mut props).expect_err("bad");
        assert_eq!(
            err.to_string(),
            "Custom::LogGroup: Environment must be one of dev, qa, uat, prod, got \"staging\""
        );

        let mut props =
            Props::new("Custom::LogGroup", &json!({"Environment": "uat"})).expect("object");
        assert_eq!(Environment::decode(&mut props), Ok(Environment::Uat));
    }
}
