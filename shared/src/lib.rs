//! stackhand's shared core: the custom-resource protocol ([`cfn`]), lenient property decoding
//! ([`props`]), the environment profiles ([`profile`]), AWS configuration ([`aws`]), errors and
//! logging.

pub mod alarm_tags;
pub mod aws;
mod catch_unwind;
pub mod cfn;
pub mod cost;
pub mod error;
pub mod function;
pub mod key_policy;
pub mod key_tags;
#[cfg(feature = "kms")]
pub mod kms_scan;
pub mod logging;
pub mod names;
pub mod pace;
pub mod plan;
pub mod problem;
pub mod profile;
pub mod props;
#[cfg(feature = "records")]
pub mod records;
pub mod schedule;
pub mod settings;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use error::{InvocationError, ResourceError};
pub use profile::{Environment, Profile};
pub use props::{Problem, PropertyError, Props, Tag};
