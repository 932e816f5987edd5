//! The KMS key tags kms-provider writes and key-rotator reads (docs/functions.md, key-rotator).

/// The automatic-rotation period in days, or [`ROTATION_OFF`].
pub const TAG_ROTATION_PERIOD: &str = "stackhand:rotation-period-days";
/// On-demand rotation every N days.
pub const TAG_ROTATE_EVERY: &str = "stackhand:rotate-every-days";
/// The rotation-period tag's value on a symmetric key whose rotation was turned off on purpose.
pub const ROTATION_OFF: &str = "disabled";
/// What KMS allows for automatic rotation.
pub const ROTATION_PERIOD_DAYS: std::ops::RangeInclusive<i64> = 90..=2560;
/// What the on-demand interval tag allows.
pub const ON_DEMAND_INTERVAL_DAYS: std::ops::RangeInclusive<i64> = 1..=2560;
