//! The alarm baseline's catalogue: every alarm kind, per cluster and per service, with its
//! metric, window, threshold (or anomaly band) and severity. `baseline::plan` picks from it by
//! environment.

pub(crate) struct Kind {
    pub(crate) suffix: &'static str,
    pub(crate) namespace: &'static str,
    pub(crate) metric: &'static str,
    pub(crate) statistic: &'static str,
    pub(crate) period: i32,
    pub(crate) periods: i32,
    /// `None`: an anomaly band of 2 standard deviations.
    pub(crate) threshold: Option<(&'static str, f64)>,
    pub(crate) severity: &'static str,
    pub(crate) what: &'static str,
}

/// `metric`: namespace, name, statistic; `window`: period and evaluation periods; `rule`:
/// comparison operator and threshold.
pub(crate) const fn static_kind(
    suffix: &'static str,
    metric: (&'static str, &'static str, &'static str),
    window: (i32, i32),
    rule: (&'static str, f64),
    severity: &'static str,
    what: &'static str,
) -> Kind {
    Kind {
        suffix,
        namespace: metric.0,
        metric: metric.1,
        statistic: metric.2,
        period: window.0,
        periods: window.1,
        threshold: Some(rule),
        severity,
        what,
    }
}

const fn band_kind(
    suffix: &'static str,
    namespace: &'static str,
    metric: &'static str,
    statistic: &'static str,
    what: &'static str,
) -> Kind {
    Kind {
        suffix,
        namespace,
        metric,
        statistic,
        period: 300,
        periods: 3,
        threshold: None,
        severity: "warning",
        what,
    }
}

pub(crate) const ECS: &str = "AWS/ECS";
pub(crate) const INSIGHTS: &str = "ECS/ContainerInsights";
pub(crate) const GT: &str = "GreaterThanThreshold";
pub(crate) const LT: &str = "LessThanThreshold";

pub(crate) const CLUSTER_BASE: [Kind; 3] = [
    static_kind(
        "cpu-high",
        (ECS, "CPUUtilization", "Average"),
        (300, 3),
        (GT, 80.0),
        "warning",
        "cluster CPU above 80% for 15 minutes",
    ),
    static_kind(
        "memory-high",
        (ECS, "MemoryUtilization", "Average"),
        (300, 3),
        (GT, 80.0),
        "warning",
        "cluster memory above 80% for 15 minutes",
    ),
    static_kind(
        "tasks-none",
        (INSIGHTS, "RunningTaskCount", "Minimum"),
        (60, 3),
        (LT, 1.0),
        "critical",
        "no task running in the cluster for 3 minutes",
    ),
];
pub(crate) const CLUSTER_PROD: [Kind; 6] = [
    static_kind(
        "cpu-critical",
        (ECS, "CPUUtilization", "Average"),
        (60, 5),
        (GT, 95.0),
        "critical",
        "cluster CPU above 95% for 5 minutes",
    ),
    static_kind(
        "memory-critical",
        (ECS, "MemoryUtilization", "Average"),
        (60, 5),
        (GT, 95.0),
        "critical",
        "cluster memory above 95% for 5 minutes",
    ),
    band_kind(
        "cpu-anomaly",
        ECS,
        "CPUUtilization",
        "Average",
        "cluster CPU outside its expected band",
    ),
    band_kind(
        "memory-anomaly",
        ECS,
        "MemoryUtilization",
        "Average",
        "cluster memory outside its expected band",
    ),
    band_kind(
        "network-rx-anomaly",
        INSIGHTS,
        "NetworkRxBytes",
        "Average",
        "cluster network receive outside its expected band",
    ),
    band_kind(
        "network-tx-anomaly",
        INSIGHTS,
        "NetworkTxBytes",
        "Average",
        "cluster network transmit outside its expected band",
    ),
];
pub(crate) const SERVICE_BASE: [Kind; 3] = [
    static_kind(
        "running-tasks-low",
        (INSIGHTS, "RunningTaskCount", "Minimum"),
        (60, 3),
        (LT, 1.0),
        "critical",
        "no task of the service running for 3 minutes",
    ),
    static_kind(
        "cpu-high",
        (ECS, "CPUUtilization", "Average"),
        (300, 3),
        (GT, 80.0),
        "warning",
        "service CPU above 80% for 15 minutes",
    ),
    static_kind(
        "memory-high",
        (ECS, "MemoryUtilization", "Average"),
        (300, 3),
        (GT, 80.0),
        "warning",
        "service memory above 80% for 15 minutes",
    ),
];
pub(crate) const SERVICE_PROD: [Kind; 8] = [
    static_kind(
        "cpu-critical",
        (ECS, "CPUUtilization", "Average"),
        (60, 5),
        (GT, 95.0),
        "critical",
        "service CPU above 95% for 5 minutes",
    ),
    static_kind(
        "memory-critical",
        (ECS, "MemoryUtilization", "Average"),
        (60, 5),
        (GT, 95.0),
        "critical",
        "service memory above 95% for 5 minutes",
    ),
    static_kind(
        "pending-tasks",
        (INSIGHTS, "PendingTaskCount", "Maximum"),
        (300, 3),
        (GT, 0.0),
        "warning",
        "tasks pending for 15 minutes",
    ),
    static_kind(
        "deployment-stuck",
        (INSIGHTS, "DeploymentCount", "Maximum"),
        (300, 6),
        (GT, 1.0),
        "warning",
        "more than one deployment for 30 minutes",
    ),
    band_kind(
        "cpu-anomaly",
        ECS,
        "CPUUtilization",
        "Average",
        "service CPU outside its expected band",
    ),
    band_kind(
        "memory-anomaly",
        ECS,
        "MemoryUtilization",
        "Average",
        "service memory outside its expected band",
    ),
    band_kind(
        "network-rx-anomaly",
        INSIGHTS,
        "NetworkRxBytes",
        "Average",
        "service network receive outside its expected band",
    ),
    band_kind(
        "network-tx-anomaly",
        INSIGHTS,
        "NetworkTxBytes",
        "Average",
        "service network transmit outside its expected band",
    ),
];
