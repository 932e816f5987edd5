use super::*;
use crate::grants::Constraint;
use proptest::prelude::*;
use serde_json::json;
use shared::cfn::decode_properties;
use shared::test_support::any_json;

fn decode_json(properties: Value) -> Result<KeyProps, PropertyError> {
    decode_properties::<crate::KmsKeys>(&properties)
}

fn reason(properties: Value) -> String {
    decode_json(properties).expect_err("must fail").to_string()
}

#[test]
fn defaults_come_from_the_profile() {
    let dev = decode_json(json!({"Environment": "dev"})).expect("valid");
    assert_eq!(
        (dev.key_spec, dev.key_usage),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    );
    assert_eq!(dev.rotation_period_days, Some(365));
    assert_eq!(dev.pending_window_days, 7);
    assert!(!dev.retain_on_delete && dev.enabled && !dev.multi_region);
    assert_eq!(
        dev.policy,
        KeyPolicy::Personas(crate::policy::Personas::default())
    );

    let prod = decode_json(json!({"Environment": "prod"})).expect("valid");
    assert_eq!(prod.pending_window_days, 30);
    assert!(prod.retain_on_delete);
    let qa = decode_json(json!({"Environment": "qa"})).expect("valid");
    assert_eq!(qa.pending_window_days, 14);
}

#[test]
fn explicit_properties_win_and_strings_are_accepted() {
    let props = decode_json(json!({
        "Environment": "prod", "RetainOnDelete": "false", "PendingWindowInDays": "7",
        "RotationPeriodInDays": "90", "OnDemandRotationIntervalDays": 30, "Enabled": "false",
        "Aliases": ["app", "alias/app/secondary"], "MultiRegion": "true", "ReplicaRegions": ["eu-west-1"],
        "Description": "app data"
    }))
    .expect("valid");
    assert!(!props.retain_on_delete && !props.enabled && props.multi_region);
    assert_eq!(props.pending_window_days, 7);
    assert_eq!(props.rotation_period_days, Some(90));
    assert_eq!(props.aliases, ["alias/app", "alias/app/secondary"]);
    assert_eq!(
        props.derived_tags(),
        [
            (TAG_ROTATION_PERIOD, "90".to_owned()),
            (TAG_ROTATE_EVERY, "30".to_owned())
        ]
    );
}

#[test]
fn each_spec_gets_its_natural_usage_and_rotation_default() {
    for (spec, usage, rotation) in [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", Some(365)),
        ("RSA_3072", "ENCRYPT_DECRYPT", None),
        ("ECC_NIST_P384", "SIGN_VERIFY", None),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", None),
        ("HMAC_512", "GENERATE_VERIFY_MAC", None),
        ("ML_DSA_65", "SIGN_VERIFY", None),
    ] {
        let props = decode_json(json!({"Environment": "dev", "KeySpec": spec})).expect(spec);
        assert_eq!(
            (props.key_usage, props.rotation_period_days),
            (usage, rotation),
            "{spec}"
        );
    }
    let agreement = decode_json(
        json!({"Environment": "dev", "KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT"}),
    )
    .expect("allowed pair");
    assert_eq!(agreement.key_usage, "KEY_AGREEMENT");
}

/// The bad inputs the issue names: each fails before any call, naming the property, the value
/// and what is allowed.
#[test]
fn bad_input_names_the_property_the_value_and_what_is_allowed() {
    let cases = [
        (
            json!({"RotationPeriodInDays": 10}),
            "Custom::KmsKey: RotationPeriodInDays must be between 90 and 2560, got 10",
        ),
        (
            json!({"KeySpec": "RSA_1024"}),
            "Custom::KmsKey: KeySpec must be one of SYMMETRIC_DEFAULT, RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256",
        ),
        (
            json!({"KeySpec": "ECC_NIST_P256", "EnableKeyRotation": true}),
            "Custom::KmsKey: EnableKeyRotation can be true only for KeySpec SYMMETRIC_DEFAULT (KMS rotates symmetric encryption keys only); KeySpec is ECC_NIST_P256, got true",
        ),
        (
            json!({"KeySpec": "HMAC_256", "EnableKeyRotation": "true"}),
            "Custom::KmsKey: EnableKeyRotation can be true only for KeySpec SYMMETRIC_DEFAULT (KMS rotates symmetric encryption keys only); KeySpec is HMAC_256, got true",
        ),
        (
            json!({"KeySpec": "HMAC_256", "KeyUsage": "ENCRYPT_DECRYPT"}),
            "Custom::KmsKey: KeyUsage with KeySpec HMAC_256 must be one of GENERATE_VERIFY_MAC, got \"ENCRYPT_DECRYPT\"",
        ),
        (
            json!({"Aliases": ["alias/aws/ebs"]}),
            "Custom::KmsKey: Aliases must not start with alias/aws/, which AWS reserves for AWS managed keys, got \"alias/aws/ebs\"",
        ),
        (
            json!({"Aliases": ["aws/s3"]}),
            "Custom::KmsKey: Aliases must not start with alias/aws/",
        ),
        (
            json!({"PendingWindowInDays": 3}),
            "Custom::KmsKey: PendingWindowInDays must be between 7 and 30, got 3",
        ),
        (
            json!({"KeyPolicy": {"Statement": []}, "KeyAdministrators": ["arn:aws:iam::111122223333:role/admin"]}),
            "Custom::KmsKey: KeyPolicy cannot be combined with KeyAdministrators",
        ),
        (
            json!({"Enabled": "maybe"}),
            "Custom::KmsKey: Enabled must be a boolean (true or false), got \"maybe\"",
        ),
        (
            json!({"MultiRegion": "maybe"}),
            "Custom::KmsKey: MultiRegion must be a boolean (true or false), got \"maybe\"",
        ),
        (
            json!({"Grants": [{"Name": "app", "GranteePrincipal": "arn:aws:iam::111122223333:role/app", "Operations": ["Encrypt", "Frobnicate"]}]}),
            "Custom::KmsKey: Grants[0].Operations must be one of CreateGrant, Decapsulate, Decrypt",
        ),
        (
            json!({"KeySpec": "ECC_NIST_P256", "Grants": [{"Name": "app", "GranteePrincipal": "arn:aws:iam::111122223333:role/app", "Operations": ["Encrypt"]}]}),
            "Custom::KmsKey: Grants[0].Operations with KeySpec ECC_NIST_P256 and KeyUsage SIGN_VERIFY may only hold",
        ),
        (
            json!({"Grants": [{"Name": "app", "GranteePrincipal": "*", "Operations": ["Decrypt"]}]}),
            "Custom::KmsKey: Grants[0].GranteePrincipal must be an IAM principal ARN",
        ),
        (
            json!({"ReplicaRegions": ["eu-west-1"]}),
            "Custom::KmsKey: ReplicaRegions is only allowed with MultiRegion true",
        ),
        (
            json!({"MultiRegion": true, "ReplicaRegions": ["Europe"]}),
            "Custom::KmsKey: ReplicaRegions must be Region names such as eu-west-1, got \"Europe\"",
        ),
        (
            json!({"EnableKeyRotation": false, "RotationPeriodInDays": 180}),
            "Custom::KmsKey: RotationPeriodInDays is only allowed with EnableKeyRotation true",
        ),
        (
            json!({"KeySpec": "RSA_2048", "OnDemandRotationIntervalDays": 30}),
            "Custom::KmsKey: OnDemandRotationIntervalDays is only allowed with KeySpec SYMMETRIC_DEFAULT",
        ),
        (
            json!({"Aliases": ["app", "alias/app"]}),
            "Custom::KmsKey: Aliases must not repeat a name, got \"alias/app\"",
        ),
        (
            json!({"Rotation": true}),
            "Custom::KmsKey: Rotation is not a known property; allowed: Aliases, Description",
        ),
    ];
    for (mut properties, expected) in cases {
        properties["Environment"] = json!("dev");
        let got = reason(properties.clone());
        assert!(
            got.starts_with(expected),
            "{properties}\n got: {got}\nwant: {expected}"
        );
    }
}

#[test]
fn grants_decode_with_constraints_and_sorted_operations() {
    let props = decode_json(json!({"Environment": "dev", "Grants": [
        {"Name": "app", "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
         "Operations": ["GenerateDataKey", "Decrypt"], "RetiringPrincipal": "111122223333",
         "EncryptionContextSubset": {"app": "orders"}}
    ]}))
    .expect("valid");
    let grant = &props.grants[0];
    assert_eq!(grant.operations, ["Decrypt", "GenerateDataKey"]);
    assert_eq!(grant.retiring.as_deref(), Some("111122223333"));
    assert_eq!(
        grant.constraint,
        Constraint::Subset([("app".to_owned(), "orders".to_owned())].into())
    );

    let err = reason(
        json!({"Environment": "dev", "Grants": [{"Name": "a", "GranteePrincipal": "111122223333", "Operations": ["Decrypt"],
        "EncryptionContextSubset": {"a": "b"}, "EncryptionContextEquals": {"a": "b"}}]}),
    );
    assert_eq!(
        err,
        "Custom::KmsKey: Grants[0].EncryptionContextSubset cannot be combined with EncryptionContextEquals"
    );
    let err = reason(
        json!({"Environment": "dev", "KeySpec": "RSA_2048", "Grants": [{"Name": "a", "GranteePrincipal": "111122223333", "Operations": ["Decrypt"],
        "EncryptionContextEquals": {"a": "b"}}]}),
    );
    assert!(err.starts_with("Custom::KmsKey: Grants[0].EncryptionContextEquals is only allowed with KeySpec SYMMETRIC_DEFAULT"), "{err}");
    let err = reason(json!({"Environment": "dev", "Grants": [
        {"Name": "a", "GranteePrincipal": "111122223333", "Operations": ["Decrypt"]},
        {"Name": "a", "GranteePrincipal": "111122223333", "Operations": ["Encrypt"]}]}));
    assert_eq!(
        err,
        "Custom::KmsKey: Grants must give each grant a different Name, got \"a\""
    );
}

#[test]
fn replacement_follows_spec_usage_and_multi_region_only() {
    let base = decode_json(json!({"Environment": "dev"})).expect("valid");
    let described =
        decode_json(json!({"Environment": "dev", "Description": "x", "Aliases": ["a"]}))
            .expect("valid");
    assert!(!base.replacement_differs(&described));
    for changed in [
        json!({"Environment": "dev", "KeySpec": "RSA_2048", "EnableKeyRotation": false}),
        json!({"Environment": "dev", "MultiRegion": true}),
        json!({"Environment": "dev", "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}),
    ] {
        let other = decode_json(changed.clone()).expect("valid");
        assert!(base.replacement_differs(&other), "{changed}");
    }
}

proptest! {
    #[test]
    fn any_json_in_any_property_decodes_or_names_itself(
        value in any_json(),
        field in proptest::sample::select(vec!["Environment", "Description", "KeySpec", "KeyUsage", "EnableKeyRotation",
            "RotationPeriodInDays", "OnDemandRotationIntervalDays", "MultiRegion", "ReplicaRegions", "Aliases",
            "KeyPolicy", "KeyAdministrators", "KeyUsers", "ServicePrincipals", "ViaServices", "Grants",
            "PendingWindowInDays", "RetainOnDelete", "Enabled", "Tags"]),
    ) {
        let base = json!({"Environment": "dev"});
        shared::test_support::decodes_or_names_itself::<crate::KmsKeys>(&base, field, value)?;
    }
}

#[test]
fn only_key_ids_are_taken_for_a_key_physical_id() {
    for own in [
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
        "mrk-1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        assert!(crate::is_key_id(own), "{own}");
    }
    // What CloudFormation makes up for a cancelled Create, and near misses.
    for other in [
        "orders-stack-AppKey-1X2Y3Z4W5V6U7",
        "1234abcd-12ab-34cd-56ef-1234567890a",
        "mrk-1234",
        "alias/app",
        "",
    ] {
        assert!(!crate::is_key_id(other), "{other}");
    }
}

/// Attributes fit by design: the most aliases and replicas the decoder accepts still answer
/// within CloudFormation's 4,096 bytes, with the longest ids CloudFormation sends.
#[test]
fn the_largest_key_the_decoder_accepts_answers_within_the_response_limit() {
    use shared::cfn::{MAX_RESPONSE_BYTES, ResponseBody, Status};
    let alias = |i: usize| {
        format!(
            "alias/{}{i}",
            "a".repeat(MAX_ALIAS_CHARACTERS / MAX_ALIASES - 8)
        )
    };
    let aliases: Vec<String> = (0..MAX_ALIASES).map(alias).collect();
    let regions = [
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "sa-east-1",
    ];
    let props = decode_json(json!({"Environment": "prod", "MultiRegion": true,
        "Aliases": aliases, "ReplicaRegions": regions}))
    .expect("the largest accepted");
    let key_id = format!("mrk-{}", "f".repeat(32));
    let outcome = crate::keys::key_outcome(
        &crate::lifecycle::KeyOutcome {
            arn: format!("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{key_id}"),
            key_id: key_id.clone(),
            aliases: props.aliases.clone(),
            rotation_enabled: true,
            replica_arns: regions
                .iter()
                .map(|r| format!("arn:aws-us-gov:kms:{r}:123456789012:key/{key_id}"))
                .collect(),
        },
        &props,
    );
    let long = "x".repeat(255);
    let body = ResponseBody {
        status: Status::Success,
        reason: "OK".to_owned(),
        physical_resource_id: outcome.physical_resource_id.clone(),
        stack_id: long.clone(),
        request_id: long.clone(),
        logical_resource_id: long,
        no_echo: false,
        data: outcome.data,
    };
    assert_eq!(body.data_overflow(), None);
    let (sent, bytes) = body.into_bytes();
    assert_eq!(sent.status, Status::Success);
    assert!(bytes.len() <= MAX_RESPONSE_BYTES, "{} bytes", bytes.len());

    let eleven: Vec<String> = (0..=MAX_ALIASES).map(|i| format!("a{i}")).collect();
    assert!(
        reason(json!({"Environment": "dev", "Aliases": eleven}))
            .contains("Aliases may hold at most 10 names")
    );
    let long_names: Vec<String> = (0..MAX_ALIASES)
        .map(|i| format!("{}{i}", "n".repeat(200)))
        .collect();
    assert!(
        reason(json!({"Environment": "dev", "Aliases": long_names}))
            .contains("1200 characters together")
    );
    let mut many = regions.to_vec();
    many.push("us-west-2");
    assert!(
        reason(json!({"Environment": "dev", "MultiRegion": true, "ReplicaRegions": many}))
            .contains("ReplicaRegions may name at most 10 Regions")
    );
}
