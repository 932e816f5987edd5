use super::*;
use crate::log_groups::LogGroups;
use proptest::prelude::*;
use serde_json::{Value, json};
use shared::cfn::decode_properties;
use shared::test_support::any_json;

fn decode_json(value: Value) -> Result<LogGroupProps, PropertyError> {
    decode_properties::<shared::cfn::Named<LogGroups>>(&value)
}

#[test]
fn dev_defaults_come_from_the_profile() {
    let props =
        decode_json(json!({"Environment": "dev", "LogGroupName": "/app/dev"})).expect("valid");
    assert_eq!(props.retention(), 7);
    assert!(!props.retain());
    assert_eq!(props.kms_key_arn, None);
}

#[test]
fn prod_retains_and_keeps_90_days() {
    let props = decode_json(json!({
        "Environment": "prod",
        "LogGroupName": "/app/prod",
        "KmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abcd-1234"
    }))
    .expect("valid");
    assert_eq!(props.retention(), 90);
    assert!(props.retain());
}

#[test]
fn explicit_properties_win_over_the_profile() {
    let props = decode_json(json!({
        "Environment": "prod",
        "LogGroupName": "/app/prod",
        "KmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abcd-1234",
        "RetentionInDays": "365",
        "RetainOnDelete": "false"
    }))
    .expect("valid");
    assert_eq!(props.retention(), 365);
    assert!(!props.retain());
}

#[test]
fn retention_must_be_a_value_cloudwatch_allows() {
    let err =
        decode_json(json!({"Environment": "dev", "LogGroupName": "/a", "RetentionInDays": 31}))
            .expect_err("31 is not allowed");
    let text = err.to_string();
    assert!(
        text.starts_with("Custom::LogGroup: RetentionInDays must be one of 1, 3, 5, 7, 14, 30"),
        "{text}"
    );
    assert!(text.ends_with("got 31"), "{text}");
}

#[test]
fn encryption_is_required_from_qa_on() {
    for env in ["qa", "uat", "prod"] {
        let err = decode_json(json!({"Environment": env, "LogGroupName": "/a"}))
            .expect_err("needs a key");
        assert_eq!(
            err.to_string(),
            format!(
                "Custom::LogGroup: KmsKeyArn is required when Environment is {env}: that profile requires log encryption with KMS"
            )
        );
    }
}

#[test]
fn key_must_be_an_arn_not_an_alias() {
    let err =
        decode_json(json!({"Environment": "dev", "LogGroupName": "/a", "KmsKeyArn": "alias/logs"}))
            .expect_err("alias");
    assert!(
        err.to_string().contains("KmsKeyArn must be a KMS key ARN"),
        "{err}"
    );
    assert!(is_kms_key_arn(
        "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k"
    ));
    assert!(!is_kms_key_arn("arn:aws:kms:us-east-1:12345:key/k"));
    assert!(!is_kms_key_arn(
        "arn:aws:kms:us-east-1:123456789012:alias/k"
    ));
}

#[test]
fn names_are_checked_like_cloudwatch_does() {
    for bad in ["has space", "star*", &"x".repeat(513)] {
        let err =
            decode_json(json!({"Environment": "dev", "LogGroupName": bad})).expect_err("bad name");
        assert!(
            err.to_string()
                .starts_with("Custom::LogGroup: LogGroupName must be 1 to 512"),
            "{err}"
        );
    }
    assert!(
        decode_json(json!({"Environment": "dev", "LogGroupName": "/aws/lambda/x#1.2_-"})).is_ok()
    );
}

#[test]
fn unknown_property_is_named() {
    let err = decode_json(json!({"Environment": "dev", "LogGroupName": "/a", "Retention": 7}))
        .expect_err("typo");
    assert!(err.to_string().starts_with("Custom::LogGroup: Retention is not a known property; allowed: Environment, KmsKeyArn, LogGroupName, RetainOnDelete, RetentionInDays, Tags"), "{err}");
}

#[test]
fn every_allowed_retention_decodes() {
    for days in RETENTION_DAYS {
        let props = decode_json(json!({"Environment": "dev", "LogGroupName": "/a", "RetentionInDays": days.to_string()}))
            .expect("allowed");
        assert_eq!(i64::from(props.retention()), days);
    }
}

proptest! {
    #[test]
    fn any_json_in_any_property_decodes_or_names_itself(
        value in any_json(),
        field in proptest::sample::select(vec!["Environment", "LogGroupName", "RetentionInDays", "KmsKeyArn", "RetainOnDelete", "Tags"]),
    ) {
        let base = json!({"Environment": "dev", "LogGroupName": "/a"});
        shared::test_support::decodes_or_names_itself::<shared::cfn::Named<LogGroups>>(&base, field, value)?;
    }
}

/// A log group is deleted in uat or prod only when the user wrote `RetainOnDelete: false`.
#[test]
fn uat_and_prod_delete_a_log_group_only_when_told_explicitly() {
    for env in ["dev", "qa", "uat", "prod"] {
        let keeps_data = env == "uat" || env == "prod";
        for (explicit, expected) in [
            (None, keeps_data),
            (Some("false"), false),
            (Some("true"), true),
        ] {
            let mut props = json!({"Environment": env, "LogGroupName": "/app/x"});
            if env != "dev" {
                props["KmsKeyArn"] = json!("arn:aws:kms:eu-west-1:123456789012:key/abcd-1234");
            }
            if let Some(value) = explicit {
                props["RetainOnDelete"] = json!(value);
            }
            let decoded = decode_json(props).expect("valid");
            assert_eq!(
                decoded.retain(),
                expected,
                "{env}, RetainOnDelete {explicit:?}"
            );
        }
    }
}

fn in_step(props: &LogGroupProps) -> LiveGroup {
    LiveGroup {
        arn: format!(
            "arn:aws:logs:us-east-1:123456789012:log-group:{}",
            props.log_group_name
        ),
        retention: Some(props.retention()),
        kms_key_id: props.kms_key_arn.clone(),
        tags: props
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .chain([("stackhand:logical-id".to_owned(), "Logs".to_owned())])
            .collect(),
    }
}

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn a_group_in_step_plans_nothing() {
    let props = decode_json(
        json!({"Environment": "qa", "LogGroupName": "/app", "KmsKeyArn": KEY,
        "Tags": [{"Key": "team", "Value": "orders"}]}),
    )
    .expect("valid");
    assert!(plan(&in_step(&props), &props).is_empty());
}

#[test]
fn retention_shortened_and_key_removed_by_hand_are_planned_back() {
    let props =
        decode_json(json!({"Environment": "prod", "LogGroupName": "/app", "KmsKeyArn": KEY}))
            .expect("valid");
    let mut live = in_step(&props);
    live.retention = Some(1);
    live.kms_key_id = None;
    let plan = plan(&live, &props);
    assert_eq!(plan.properties(), ["RetentionInDays", "KmsKeyArn"]);
    assert_eq!(
        (
            plan.changes[0].live.as_str(),
            plan.changes[0].desired.as_str()
        ),
        ("1", "90")
    );
    assert_eq!(
        (
            plan.changes[1].live.as_str(),
            plan.changes[1].desired.as_str()
        ),
        ("(none)", KEY)
    );
    assert_eq!(plan.changes[1].step, Step::Encryption);
}

#[test]
fn a_group_that_never_expires_is_shown_so() {
    let props = decode_json(json!({"Environment": "dev", "LogGroupName": "/app"})).expect("valid");
    let mut live = in_step(&props);
    live.retention = None;
    let plan = plan(&live, &props);
    assert_eq!(plan.changes[0].live, "never expire");
    assert_eq!(plan.changes[0].step, Step::Retention);
}
