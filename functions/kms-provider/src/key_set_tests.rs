use super::*;
use proptest::prelude::*;
use shared::cfn::decode_properties;
use shared::key_policy::{public_statements, statements};
use shared::test_support::any_json;

fn decode_json(properties: Value) -> Result<KeySetProps, PropertyError> {
    decode_properties::<crate::KmsKeySets>(&properties)
}

fn ctx() -> KeyContext {
    KeyContext::from_stack_id("arn:aws:cloudformation:us-east-1:111122223333:stack/security/1")
        .expect("stack arn")
}

fn policy_of(props: &KeyProps) -> Value {
    crate::lifecycle::policy_document(props, &ctx())
}

#[test]
fn the_profile_picks_the_keys() {
    let names = |env: &str| {
        decode_json(json!({"Environment": env, "Prefix": "acme"}))
            .expect("valid")
            .key_names()
            .to_vec()
    };
    assert_eq!(names("dev"), ["main"]);
    assert_eq!(names("qa"), ["main", "data"]);
    assert_eq!(names("uat"), ["main", "rds", "s3", "ebs"]);
    assert_eq!(names("prod"), ["main", "rds", "s3", "ebs"]);
    assert_eq!(attribute_stem("s3"), "S3");
    assert_eq!(attribute_stem("main"), "Main");
}

#[test]
fn each_member_is_a_rotating_symmetric_key_with_its_alias_and_set_tag() {
    let set = decode_json(
        json!({"Environment": "uat", "Prefix": "acme", "Tags": [{"Key": "team", "Value": "sec"}]}),
    )
    .expect("valid");
    let rds = member(&set, "rds", &ctx());
    assert_eq!(rds.aliases, ["alias/acme-rds"]);
    assert_eq!(rds.rotation_period_days, Some(365));
    assert_eq!((rds.pending_window_days, rds.retain_on_delete), (30, true));
    assert!(rds.tags.iter().any(|t| t.key == "team"));
    assert!(
        rds.tags
            .iter()
            .any(|t| t.key == TAG_KEY_SET && t.value == "acme/rds")
    );
}

#[test]
fn main_lets_logs_of_this_account_and_alarm_topics_use_it() {
    let set = decode_json(json!({"Environment": "dev", "Prefix": "acme"})).expect("valid");
    let policy = policy_of(&member(&set, "main", &ctx()));
    let all = statements(&policy);
    let logs = all
        .iter()
        .find(|s| s["Sid"] == "CloudWatchLogsForThisAccount")
        .expect("logs statement");
    assert_eq!(logs["Principal"]["Service"], "logs.us-east-1.amazonaws.com");
    assert_eq!(
        logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"],
        "arn:aws:logs:us-east-1:111122223333:log-group:*"
    );
    let topics = all
        .iter()
        .find(|s| s["Sid"] == "EncryptedAlarmTopics")
        .expect("topics statement");
    assert_eq!(
        topics["Principal"]["Service"],
        json!(["sns.amazonaws.com", "cloudwatch.amazonaws.com"])
    );
    assert!(public_statements(&policy).is_empty());
}

#[test]
fn data_keys_are_limited_to_their_services() {
    for (env, name, services) in [
        (
            "qa",
            "data",
            json!([
                "rds.us-east-1.amazonaws.com",
                "s3.us-east-1.amazonaws.com",
                "ec2.us-east-1.amazonaws.com"
            ]),
        ),
        ("prod", "rds", json!(["rds.us-east-1.amazonaws.com"])),
        ("prod", "s3", json!(["s3.us-east-1.amazonaws.com"])),
        ("prod", "ebs", json!(["ec2.us-east-1.amazonaws.com"])),
    ] {
        let set = decode_json(json!({"Environment": env, "Prefix": "acme", "KeyUsers": ["arn:aws:iam::111122223333:role/app"]}))
            .expect("valid");
        let policy = policy_of(&member(&set, name, &ctx()));
        let users = statements(&policy)
            .into_iter()
            .find(|s| s["Sid"] == "KeyUsers")
            .expect("users");
        assert_eq!(
            users["Principal"]["AWS"],
            json!(["arn:aws:iam::111122223333:role/app"]),
            "{name}"
        );
        assert_eq!(
            users["Condition"]["StringEquals"]["kms:ViaService"], services,
            "{name}"
        );
        assert!(public_statements(&policy).is_empty());
    }
}

#[test]
fn bad_input_is_named() {
    let err = decode_json(json!({"Environment": "dev"})).expect_err("no prefix");
    assert_eq!(err.to_string(), "Custom::KmsKeySet: Prefix is required");
    let err = decode_json(json!({"Environment": "dev", "Prefix": "a b"})).expect_err("bad prefix");
    assert!(
        err.to_string()
            .starts_with("Custom::KmsKeySet: Prefix must be letters"),
        "{err}"
    );
    let err = decode_json(json!({"Environment": "dev", "Prefix": "a", "KeyUsers": ["*"]}))
        .expect_err("public");
    assert!(
        err.to_string()
            .starts_with("Custom::KmsKeySet: KeyUsers must be IAM principal ARNs"),
        "{err}"
    );
    let err = decode_json(json!({"Environment": "dev", "Prefix": "a", "KeyPolicy": {}}))
        .expect_err("not a key set property");
    assert!(
        err.to_string()
            .starts_with("Custom::KmsKeySet: KeyPolicy is not a known property"),
        "{err}"
    );
    let err = decode_json(json!({"Environment": "dev", "Prefix": "a", "PendingWindowInDays": 3}))
        .expect_err("window");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKeySet: PendingWindowInDays must be between 7 and 30, got 3"
    );
}

proptest! {
    #[test]
    fn any_json_in_any_property_decodes_or_names_itself(
        value in any_json(),
        field in proptest::sample::select(vec!["Environment", "Prefix", "KeyAdministrators", "KeyUsers",
            "PendingWindowInDays", "RetainOnDelete", "Tags"]),
    ) {
        let base = json!({"Environment": "dev", "Prefix": "acme"});
        shared::test_support::decodes_or_names_itself::<crate::KmsKeySets>(&base, field, value)?;
    }
}
