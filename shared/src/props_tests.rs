use super::*;
use crate::test_support::any_json;
use proptest::prelude::*;
use serde_json::json;

fn props(value: Value) -> Props {
    Props::new("Custom::KmsKey", &value).expect("object")
}

#[test]
fn strings_from_cloudformation_are_accepted() {
    let mut p = props(json!({"RotationPeriodInDays": "365", "Enabled": "true", "Retain": "FALSE"}));
    assert_eq!(
        p.optional_int_in("RotationPeriodInDays", 90, 2560),
        Ok(Some(365))
    );
    assert_eq!(p.optional_bool("Enabled"), Ok(Some(true)));
    assert_eq!(p.optional_bool("Retain"), Ok(Some(false)));
    assert_eq!(p.finish(), Ok(()));
}

#[test]
fn native_json_types_are_accepted() {
    let mut p = props(json!({"Days": 30, "On": true, "Name": 2024}));
    assert_eq!(p.optional_int("Days"), Ok(Some(30)));
    assert_eq!(p.optional_bool("On"), Ok(Some(true)));
    assert_eq!(p.optional_string("Name"), Ok(Some("2024".to_owned())));
}

#[test]
fn out_of_range_names_type_property_value_and_range() {
    let mut p = props(json!({"RotationPeriodInDays": "10"}));
    let err = p
        .optional_int_in("RotationPeriodInDays", 90, 2560)
        .expect_err("out of range");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKey: RotationPeriodInDays must be between 90 and 2560, got 10"
    );
}

#[test]
fn a_non_boolean_is_rejected_with_its_value() {
    let mut p = props(json!({"Enabled": "maybe"}));
    let err = p.optional_bool("Enabled").expect_err("not a bool");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKey: Enabled must be a boolean (true or false), got \"maybe\""
    );
}

#[test]
fn a_fraction_is_not_a_whole_number() {
    let mut p = props(json!({"Days": 1.5, "Other": "7.0"}));
    assert!(p.optional_int("Days").is_err());
    assert!(p.optional_int("Other").is_err());
}

#[test]
fn unknown_property_is_named_with_the_allowed_ones() {
    let mut p = props(
        json!({"Description": "x", "Colour": "blue", "ServiceToken": "arn", "ServiceTimeout": "60"}),
    );
    p.optional_string("Description").expect("string");
    let err = p.finish().expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKey: Colour is not a known property; allowed: Description"
    );
}

#[test]
fn service_token_and_timeout_are_ignored() {
    let p = props(json!({"ServiceToken": "arn:aws:lambda:x", "ServiceTimeout": "120"}));
    assert_eq!(p.finish(), Ok(()));
}

#[test]
fn required_strings_must_be_present_and_not_empty() {
    let mut p = props(json!({"Empty": "  "}));
    assert_eq!(
        p.required_string("Missing")
            .expect_err("missing")
            .to_string(),
        "Custom::KmsKey: Missing is required"
    );
    assert_eq!(
        p.required_string("Empty").expect_err("empty").to_string(),
        "Custom::KmsKey: Empty must not be empty, got \"\""
    );
}

#[test]
fn choices_list_what_is_allowed() {
    let mut p = props(json!({"KeySpec": "RSA_1024"}));
    let err = p
        .optional_choice("KeySpec", &["RSA_2048", "RSA_3072"])
        .expect_err("not allowed");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKey: KeySpec must be one of RSA_2048, RSA_3072, got \"RSA_1024\""
    );
}

#[test]
fn tags_decode_and_reserved_prefixes_fail() {
    let mut p =
        props(json!({"Tags": [{"Key": "team", "Value": "platform"}, {"Key": "n", "Value": 3}]}));
    assert_eq!(
        p.tags().expect("tags"),
        vec![
            Tag {
                key: "team".into(),
                value: "platform".into()
            },
            Tag {
                key: "n".into(),
                value: "3".into()
            }
        ]
    );
    let mut p = props(json!({"Tags": [{"Key": "stackhand:request-id", "Value": "x"}]}));
    let err = p.tags().expect_err("reserved");
    assert!(err.to_string().contains("reserved"), "{err}");
    let mut p = props(json!({"Tags": {"team": "x"}}));
    assert!(p.tags().is_err());
}

#[test]
fn nested_objects_name_their_element() {
    let mut p = props(json!({"Strategy": [{"Weight": 1}, {"Weight": "-1", "Extra": 2}]}));
    let items = p
        .optional_object_list("Strategy")
        .expect("list")
        .expect("present");
    let mut errors = Vec::new();
    for mut item in items {
        match item.optional_int_in("Weight", 0, 1000) {
            Ok(_) => errors.push(item.finish().err()),
            Err(e) => errors.push(Some(e)),
        }
    }
    assert_eq!(errors[0], None);
    assert_eq!(
        errors[1].as_ref().map(ToString::to_string).as_deref(),
        Some("Custom::KmsKey: Strategy[1].Weight must be between 0 and 1000, got -1")
    );
    let mut p = props(json!({"Strategy": ["FARGATE"]}));
    assert!(p.optional_object_list("Strategy").is_err());
}

#[test]
fn null_counts_as_absent() {
    let mut p = props(json!({"Description": null}));
    assert_eq!(p.optional_string("Description"), Ok(None));
    assert_eq!(p.finish(), Ok(()));
}

#[test]
fn properties_must_be_an_object() {
    let err = Props::new("Custom::LogGroup", &json!([1, 2])).expect_err("list");
    assert_eq!(
        err.to_string(),
        "Custom::LogGroup: ResourceProperties must be an object, got a list of 2"
    );
}

#[test]
fn long_values_are_cut_in_reasons() {
    let long = "x".repeat(5000);
    let shown = show(&Value::String(long));
    assert!(shown.chars().count() <= MAX_SHOWN_VALUE + 1);
}

proptest! {
    #[test]
    fn any_value_in_any_property_decodes_or_fails_cleanly(value in any_json()) {
        let doc = json!({"S": value, "B": value, "I": value, "L": value, "C": value, "Tags": value});
        let mut p = props(doc);
        let results = [
            p.optional_string("S").map(|_| ()),
            p.optional_bool("B").map(|_| ()),
            p.optional_int_in("I", 1, 10).map(|_| ()),
            p.optional_string_list("L").map(|_| ()),
            p.optional_choice("C", &["a", "b"]).map(|_| ()),
            p.tags().map(|_| ()),
        ];
        for err in results.into_iter().filter_map(Result::err) {
            let text = err.to_string();
            prop_assert!(text.starts_with("Custom::KmsKey: "));
            prop_assert!(text.len() < 400, "reason too long: {}", text.len());
        }
        prop_assert!(p.finish().is_ok());
    }

    #[test]
    fn integers_as_strings_equal_integers(n in any::<i64>()) {
        let mut p = props(json!({"A": n.to_string(), "B": n}));
        prop_assert_eq!(p.optional_int("A"), Ok(Some(n)));
        prop_assert_eq!(p.optional_int("B"), Ok(Some(n)));
    }

    #[test]
    fn any_object_as_properties_never_panics(value in any_json()) {
        if let Ok(p) = Props::new("Custom::LogGroup", &value) {
            let _ = p.finish();
        }
    }
}
