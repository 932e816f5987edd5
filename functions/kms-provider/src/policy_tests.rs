use super::*;
use proptest::prelude::*;
use serde_json::json;
use shared::test_support::any_json;

fn ctx() -> KeyContext {
    KeyContext::from_stack_id(
        "arn:aws:cloudformation:eu-west-1:111122223333:stack/security/0e0f5c1e-1111-2222-3333-444455556666",
    )
    .expect("stack arn")
}

fn decode_policy(properties: Value) -> Result<KeyPolicy, PropertyError> {
    let mut props = Props::new("Custom::KmsKey", &properties).expect("object");
    decode(&mut props)
}

fn sids(policy: &Value) -> Vec<&str> {
    shared::key_policy::statements(policy)
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect()
}

const USE: [&str; 2] = ["kms:Encrypt", "kms:Decrypt"];

#[test]
fn the_stack_arn_gives_partition_region_and_account() {
    let ctx = ctx();
    assert_eq!(
        (
            ctx.partition.as_str(),
            ctx.region.as_str(),
            ctx.account.as_str()
        ),
        ("aws", "eu-west-1", "111122223333")
    );
    assert_eq!(ctx.root(), "arn:aws:iam::111122223333:root");
    assert_eq!(ctx.via_service("rds"), "rds.eu-west-1.amazonaws.com");
    assert_eq!(
        ctx.via_service("s3.eu-west-1.amazonaws.com"),
        "s3.eu-west-1.amazonaws.com"
    );
    assert_eq!(KeyContext::from_stack_id("my-stack"), None);
}

#[test]
fn no_personas_gives_the_root_statement_alone() {
    let policy = synthesize(&ctx(), &Personas::default(), &USE);
    assert_eq!(sids(&policy), ["AccountRootKeepsAccess"]);
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(policy["Statement"][0]["Action"], "kms:*");
}

#[test]
fn each_persona_gets_its_statement() {
    let personas = Personas {
        administrators: vec!["arn:aws:iam::111122223333:role/admin".into()],
        users: vec!["444455556666".into()],
        service_principals: vec!["sns.amazonaws.com".into()],
        via_services: Vec::new(),
        extra: Vec::new(),
    };
    let policy = synthesize(&ctx(), &personas, &USE);
    assert_eq!(
        sids(&policy),
        [
            "AccountRootKeepsAccess",
            "KeyAdministrators",
            "KeyUsers",
            "KeyUsersGrantForAwsResources",
            "ServicePrincipals"
        ]
    );
    let statements = shared::key_policy::statements(&policy);
    assert_eq!(
        statements[1]["Principal"]["AWS"],
        json!(["arn:aws:iam::111122223333:role/admin"])
    );
    let admin_actions: Vec<&str> = statements[1]["Action"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !admin_actions.contains(&"kms:Decrypt"),
        "administrators manage, they do not use"
    );
    assert_eq!(
        statements[2]["Principal"]["AWS"],
        json!(["arn:aws:iam::444455556666:root"])
    );
    assert_eq!(statements[2]["Action"], json!(USE));
    assert_eq!(
        statements[3]["Condition"]["Bool"]["kms:GrantIsForAWSResource"],
        "true"
    );
    assert_eq!(
        statements[4]["Condition"]["StringEquals"]["aws:SourceAccount"],
        "111122223333"
    );
}

#[test]
fn via_services_limit_users_to_those_services_in_this_account() {
    let personas = Personas {
        via_services: vec!["rds".into(), "ec2.eu-west-1.amazonaws.com".into()],
        ..Personas::default()
    };
    let policy = synthesize(&ctx(), &personas, &USE);
    let users = &shared::key_policy::statements(&policy)[1];
    assert_eq!(
        users["Principal"]["AWS"],
        json!(["arn:aws:iam::111122223333:root"])
    );
    assert_eq!(
        users["Condition"]["StringEquals"]["kms:ViaService"],
        json!(["rds.eu-west-1.amazonaws.com", "ec2.eu-west-1.amazonaws.com"])
    );
    assert_eq!(
        users["Condition"]["StringEquals"]["kms:CallerAccount"],
        "111122223333"
    );
    let grants = &shared::key_policy::statements(&policy)[2];
    assert_eq!(
        grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"],
        "true"
    );
    assert_eq!(
        grants["Condition"]["StringEquals"]["kms:CallerAccount"],
        "111122223333"
    );
}

#[test]
fn personas_are_decoded_and_checked() {
    let decoded = decode_policy(
        json!({"KeyUsers": ["arn:aws:iam::111122223333:role/app"], "ViaServices": ["s3"]}),
    )
    .expect("valid");
    assert_eq!(
        decoded,
        KeyPolicy::Personas(Personas {
            users: vec!["arn:aws:iam::111122223333:role/app".into()],
            via_services: vec!["s3".into()],
            ..Personas::default()
        })
    );
    for (property, bad) in [
        ("KeyUsers", "*"),
        ("KeyUsers", "arn:aws:iam::*:root"),
        ("KeyAdministrators", "admin"),
        ("ServicePrincipals", "*"),
        ("ServicePrincipals", "example.com"),
        ("ViaServices", "RDS"),
    ] {
        let err = decode_policy(json!({property: [bad]})).expect_err(bad);
        assert_eq!(err.property, property);
        assert!(err.to_string().contains(&format!("got \"{bad}\"")), "{err}");
    }
}

#[test]
fn a_full_policy_cannot_be_combined_with_personas() {
    let err = decode_policy(json!({
        "KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]},
        "KeyUsers": ["arn:aws:iam::111122223333:role/app"]
    }))
    .expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Custom::KmsKey: KeyPolicy cannot be combined with KeyUsers (give a full KeyPolicy, or personas to build one)"
    );
}

#[test]
fn a_full_policy_is_parsed_and_checked() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
    let KeyPolicy::Document(doc) = decode_policy(json!({"KeyPolicy": text})).expect("valid") else {
        panic!("a document");
    };
    assert_eq!(doc["Version"], "2012-10-17");

    let err = decode_policy(json!({"KeyPolicy": "{not json"})).expect_err("parse");
    assert!(
        err.to_string().starts_with(
            "Custom::KmsKey: KeyPolicy must be a JSON policy document, got text that does not parse"
        ),
        "{err}"
    );
    let err =
        decode_policy(json!({"KeyPolicy": {"Version": "2012-10-17"}})).expect_err("no statements");
    assert!(err.to_string().contains("must have a Statement"), "{err}");
    let public = json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let err = decode_policy(json!({"KeyPolicy": public})).expect_err("public");
    assert!(err.to_string().contains("must not allow everyone"), "{err}");
    assert!(err.to_string().ends_with("got Statement[1]"), "{err}");
    let restricted = json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}
    ]});
    assert!(decode_policy(json!({"KeyPolicy": restricted})).is_ok());
}

fn principal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{12}",
        "[a-z]{1,12}".prop_map(|n| format!("arn:aws:iam::111122223333:role/{n}")),
        "[a-z]{1,12}".prop_map(|n| format!("arn:aws:iam::444455556666:user/{n}")),
    ]
}

proptest! {
    /// Whatever personas are given, the root keeps access and nothing is public.
    #[test]
    fn a_synthesized_policy_keeps_the_root_and_is_never_public(
        administrators in proptest::collection::vec(principal(), 0..3),
        users in proptest::collection::vec(principal(), 0..3),
        services in proptest::collection::vec("[a-z]{2,8}\\.amazonaws\\.com", 0..3),
        via in proptest::collection::vec("(rds|s3|ec2|logs)", 0..3),
    ) {
        let personas = Personas { administrators, users, service_principals: services, via_services: via, extra: Vec::new() };
        let policy = synthesize(&ctx(), &personas, &USE);
        prop_assert!(shared::key_policy::public_statements(&policy).is_empty());
        let root = &shared::key_policy::statements(&policy)[0];
        prop_assert_eq!(&root["Principal"]["AWS"], "arn:aws:iam::111122223333:root");
        prop_assert_eq!(&root["Action"], "kms:*");
        prop_assert!(policy.to_string().len() <= MAX_POLICY_BYTES);
    }

    /// Any value in a policy property decodes or fails with a typed error naming a property.
    #[test]
    fn any_value_in_a_policy_property_never_panics(value in any_json()) {
        for name in ["KeyPolicy", "KeyAdministrators", "KeyUsers", "ServicePrincipals", "ViaServices"] {
            if let Err(err) = decode_policy(json!({name: value.clone()})) {
                prop_assert_eq!(err.property, name);
            }
        }
    }
}
