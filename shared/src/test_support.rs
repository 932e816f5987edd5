//! Strategies for property tests, shared by every provider's decoder tests.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

/// Any JSON value: scalars of every kind, and lists and objects nested a few levels.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Decodes `base` with `field` set to `value`, as `R` would: it must decode, or fail with an
/// error that starts with the resource type; and the FAILED response carrying that error, with
/// the longest ids CloudFormation sends, must stay within the 4,096-byte limit.
pub fn decodes_or_names_itself<R: crate::cfn::CustomResource>(
    base: &Value,
    field: &str,
    value: Value,
) -> Result<(), TestCaseError> {
    use crate::cfn::{MAX_RESPONSE_BYTES, ResponseBody, Status};
    let mut doc = base.clone();
    doc[field] = value;
    let Err(err) = crate::cfn::decode_properties::<R>(&doc) else {
        return Ok(());
    };
    let reason = err.to_string();
    prop_assert!(
        reason.starts_with(&format!("{}: ", R::RESOURCE_TYPE)),
        "{field}: {reason}"
    );
    let long = "x".repeat(255);
    let body = ResponseBody {
        status: Status::Failed,
        reason,
        physical_resource_id: format!("stackhand:create-failed:{long}"),
        stack_id: long.clone(),
        request_id: long.clone(),
        logical_resource_id: long,
        no_echo: false,
        data: Default::default(),
    };
    let (_, bytes) = body.into_bytes();
    prop_assert!(
        bytes.len() <= MAX_RESPONSE_BYTES,
        "{field}: {} bytes",
        bytes.len()
    );
    Ok(())
}
