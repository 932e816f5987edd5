//! key-auditor end to end: an account with one key for every check, plus 120 good keys so that
//! listing crosses pages. The findings must be exactly the expected set: no miss, no extra.

mod common;

use common::kms::{KmsView, NewKey};
use key_auditor::{AuditSettings, DEFAULT_NAMESPACE, KeyAuditor};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const FURTHER_KEYS: usize = 120;

fn root_policy(account: &str, extra: Value) -> Value {
    let mut statements = vec![
        json!({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"}),
    ];
    if !extra.is_null() {
        statements.push(extra);
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

struct Setup {
    account: e2e::Account,
    kms: KmsView,
    /// `(key id, check)` pairs the audit must report.
    expected: BTreeSet<(String, String)>,
    total: usize,
}

async fn setup() -> Setup {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let owner: &[(&str, &str)] = &[("owner", "platform")];
    let id = account.id.clone();
    let good = |alias: &'static str| NewKey {
        alias: Some(alias),
        tags: owner,
        rotation: true,
        policy: Some(root_policy(&id, Value::Null)),
        ..NewKey::default()
    };
    let mut expected = BTreeSet::new();
    let mut expect = |key: &str, check: &str| {
        expected.insert((key.to_owned(), check.to_owned()));
    };

    kms.create(good("alias/good")).await;
    let rotation_off = kms
        .create(NewKey {
            rotation: false,
            ..good("alias/rotation-off")
        })
        .await;
    expect(&rotation_off, "rotation-disabled");
    let public = kms
        .create(NewKey { policy: Some(root_policy(&id, json!({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}))), ..good("alias/public") })
        .await;
    expect(&public, "public-key-policy");
    kms.create(NewKey {
        policy: Some(root_policy(&id, json!({"Sid": "ThroughEc2", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": id, "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}))),
        ..good("alias/restricted-public")
    })
    .await;
    let broad = kms
        .create(NewKey { policy: Some(root_policy(&id, json!({"Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{id}:role/ops")}, "Action": "kms:*", "Resource": "*"}))), ..good("alias/broad") })
        .await;
    expect(&broad, "broad-key-access");
    let pending = kms.create(good("alias/pending")).await;
    kms.kms
        .schedule_key_deletion()
        .key_id(&pending)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule");
    expect(&pending, "pending-deletion");
    let disabled = kms.create(good("alias/disabled")).await;
    kms.kms
        .disable_key()
        .key_id(&disabled)
        .send()
        .await
        .expect("disable");
    expect(&disabled, "disabled-key");
    let multi = kms
        .create(NewKey {
            multi_region: true,
            ..good("alias/multi")
        })
        .await;
    expect(&multi, "multi-region-key");
    let rsa = kms
        .create(NewKey {
            spec: Some("RSA_2048"),
            usage: Some("SIGN_VERIFY"),
            alias: None,
            rotation: false,
            ..good("unused")
        })
        .await;
    expect(&rsa, "missing-alias");
    let hmac = kms
        .create(NewKey {
            spec: Some("HMAC_256"),
            usage: Some("GENERATE_VERIFY_MAC"),
            rotation: false,
            tags: &[],
            ..good("alias/hmac")
        })
        .await;
    expect(&hmac, "missing-required-tags");
    // Made 120 days ago and never used since.
    let unused = kms.create(good("alias/unused")).await;
    account.age_key(&unused, 120).await;
    expect(&unused, "unused-key");
    // Made long ago, used today: in use.
    let in_use = kms.create(good("alias/in-use")).await;
    account.age_key(&in_use, 400).await;
    kms.kms
        .encrypt()
        .key_id(&in_use)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect("encrypt");
    // Made long ago, but usage tracking began 30 days ago: a use before it is not on record,
    // so the key is not called unused.
    let tracked_lately = kms.create(good("alias/tracked-lately")).await;
    account.age_key(&tracked_lately, 400).await;
    account.start_usage_tracking(&tracked_lately, 30).await;
    let partner = "arn:aws:iam::444455556666:role/partner";
    let shared_key = kms
        .create(NewKey { policy: Some(root_policy(&id, json!({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": partner}, "Action": "kms:Decrypt", "Resource": "*"}))), ..good("alias/shared") })
        .await;
    expect(&shared_key, "cross-account-access");
    let granted = kms.create(good("alias/granted")).await;
    kms.kms
        .create_grant()
        .key_id(&granted)
        .name("partner-decrypt")
        .grantee_principal(partner)
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .expect("grant");
    expect(&granted, "external-grant");
    let fleet = (0..FURTHER_KEYS)
        .map(|i| (kms.clone(), id.clone(), i))
        .collect();
    shared::kms_scan::bounded(fleet, 8, |(kms, id, i)| async move {
        let alias = format!("alias/fleet-{i:03}");
        kms.create(NewKey {
            alias: Some(&alias),
            tags: &[("owner", "platform")],
            rotation: true,
            policy: Some(root_policy(&id, Value::Null)),
            ..NewKey::default()
        })
        .await
    })
    .await;
    Setup {
        account,
        kms,
        expected,
        total: 15 + FURTHER_KEYS,
    }
}

fn settings(topic: Option<String>) -> AuditSettings {
    AuditSettings {
        report_topic_arn: topic,
        namespace: DEFAULT_NAMESPACE.to_owned(),
        required_tags: vec!["owner".to_owned()],
        concurrency: 16,
        suppressions_parameter: None,
        trusted_accounts: Vec::new(),
        unused_key_days: 90,
    }
}

fn found(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["keyId"].as_str().unwrap_or_default().to_owned(),
                f["check"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_check_fires_on_its_key_and_nowhere_else() {
    let setup = setup().await;
    let topic = common::topic(&setup.account, "key-audit").await;
    let queue = common::inbox(&setup.account, &topic, "audit-inbox").await;

    let auditor = KeyAuditor::new(
        &setup.account.config,
        setup.kms.kms.clone(),
        settings(Some(topic)),
    );
    let event =
        json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"});
    let report = auditor.handle(event).await.expect("audit");

    assert_eq!(
        report["keysScanned"], setup.total,
        "every page of ListKeys was read"
    );
    assert_eq!(found(&report), setup.expected, "{:#}", report["findings"]);
    assert_eq!(report["errors"], json!([]));
    let summary = &report["summary"];
    for check in [
        "rotation-disabled",
        "public-key-policy",
        "broad-key-access",
        "pending-deletion",
        "disabled-key",
        "multi-region-key",
        "missing-alias",
        "missing-required-tags",
        "unused-key",
        "cross-account-access",
        "external-grant",
    ] {
        assert_eq!(summary[check], 1, "{check}: {summary}");
    }
    let customer = report["customerKeys"].as_u64().expect("count") as f64;
    let expected_percent = ((customer - 11.0) * 1000.0 / customer).round() / 10.0;
    assert_eq!(report["compliancePercent"], expected_percent);
    let public = report["findings"]
        .as_array()
        .expect("list")
        .iter()
        .find(|f| f["check"] == "public-key-policy")
        .expect("public");
    assert_eq!(public["severity"], "critical");

    // The summary arrived on the topic.
    let messages = common::received(&setup.account, &queue).await;
    let body = &messages[0];
    assert!(
        body["Subject"]
            .as_str()
            .expect("subject")
            .starts_with("KMS key audit: 11 findings on 135 keys"),
        "{body}"
    );
    let text = body["Message"].as_str().expect("message");
    assert!(
        text.contains("public-key-policy")
            && text.contains(&setup.expected.iter().next().expect("one").0),
        "{text}"
    );

    // And the metrics went to CloudWatch.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&setup.account.config);
    let metrics = cloudwatch
        .list_metrics()
        .namespace(DEFAULT_NAMESPACE)
        .send()
        .await
        .expect("list metrics");
    let names: BTreeSet<String> = metrics
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name().map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        [
            "CompliancePercent",
            "Findings",
            "KeysScanned",
            "SuppressedFindings"
        ]
        .map(String::from)
        .into()
    );
    let by_check = metrics
        .metrics()
        .iter()
        .filter(|m| m.metric_name() == Some("Findings"))
        .count();
    assert_eq!(
        by_check,
        key_auditor::checks::Check::ALL.len(),
        "one Findings series per check"
    );
}

#[tokio::test]
async fn an_rsa_key_gets_no_rotation_finding_and_a_key_list_narrows_the_run() {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let rsa = kms
        .create(NewKey {
            spec: Some("RSA_4096"),
            usage: Some("ENCRYPT_DECRYPT"),
            ..NewKey::default()
        })
        .await;
    kms.create(NewKey::default()).await;
    let auditor = KeyAuditor::new(
        &account.config,
        kms.kms.clone(),
        AuditSettings {
            required_tags: Vec::new(),
            ..settings(None)
        },
    );
    let report = auditor
        .handle(json!({"keyIds": [rsa]}))
        .await
        .expect("audit");
    assert_eq!(report["keysScanned"], 1);
    assert_eq!(
        found(&report),
        [(rsa.clone(), "missing-alias".to_owned())].into(),
        "no rotation finding on an RSA key"
    );
}

/// Puts the suppression list where SUPPRESSIONS_PARAMETER names it.
async fn suppression_list(account: &e2e::emulator::Account, document: &Value) -> String {
    let name = "/stackhand/audit/suppressions".to_owned();
    aws_sdk_ssm::Client::new(&account.config)
        .put_parameter()
        .name(&name)
        .value(document.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("parameter");
    name
}

#[tokio::test]
async fn suppressed_findings_are_listed_apart_and_an_expired_entry_no_longer_mutes() {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let legacy = kms
        .create(NewKey {
            alias: Some("alias/legacy-orders"),
            ..NewKey::default()
        })
        .await;
    let payments = kms
        .create(NewKey {
            alias: Some("alias/payments"),
            tags: &[("team", "payments")],
            ..NewKey::default()
        })
        .await;
    let unnamed = kms
        .create(NewKey {
            rotation: true,
            ..NewKey::default()
        })
        .await;
    let name = suppression_list(&account, &json!({"suppressions": [
        {"id": "legacy", "reason": "retired in Q1", "expires": "2099-12-31",
         "checks": ["rotation-disabled"], "keys": ["alias/legacy-*"]},
        {"id": "payments-team", "reason": "their own rotation job", "expires": "2099-12-31",
         "tags": {"team": "pay*"}, "regions": ["us-east-1"]},
        {"id": "old", "reason": "was a migration", "expires": "2020-01-01", "checks": ["missing-alias"]}
    ]}))
    .await;
    let auditor = KeyAuditor::new(
        &account.config,
        kms.kms.clone(),
        AuditSettings {
            required_tags: Vec::new(),
            suppressions_parameter: Some(name),
            ..settings(None)
        },
    );
    let report = auditor.handle(json!({})).await.expect("audit");
    assert_eq!(
        found(&report),
        [(unnamed.clone(), "missing-alias".to_owned())].into(),
        "the expired entry does not mute; the others do"
    );
    let suppressed: BTreeSet<(String, String, String)> = report["suppressed"]
        .as_array()
        .expect("suppressed")
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (text("keyId"), text("check"), text("suppression"))
        })
        .collect();
    assert_eq!(
        suppressed,
        [
            (legacy, "rotation-disabled".to_owned(), "legacy".to_owned()),
            (
                payments,
                "rotation-disabled".to_owned(),
                "payments-team".to_owned()
            ),
        ]
        .into()
    );
    assert_eq!(report["summary"]["rotation-disabled"], 0);
    assert_eq!(report["suppressedSummary"]["rotation-disabled"], 2);
    assert_eq!(report["expiredSuppressions"][0]["id"], "old");
    assert_eq!(report["suppressed"][0]["reason"], "retired in Q1");
    // Two of the three keys have only suppressed findings.
    assert_eq!(report["compliancePercent"], 66.7);
}

#[tokio::test]
async fn a_malformed_suppression_list_fails_the_run_naming_the_entry_and_field() {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    kms.create(NewKey::default()).await;
    let name = suppression_list(
        &account,
        &json!({"suppressions": [
            {"id": "ok", "reason": "r", "expires": "2099-12-31", "checks": ["missing-alias"]},
            {"id": "typo", "reason": "r", "expires": "2099-12-31", "checks": ["rotaton-disabled"]}
        ]}),
    )
    .await;
    let auditor = KeyAuditor::new(
        &account.config,
        kms.kms.clone(),
        AuditSettings {
            suppressions_parameter: Some(name.clone()),
            ..settings(None)
        },
    );
    let err = auditor.handle(json!({})).await.expect_err("refused");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "no audit: {name}: suppressions[1] (id \"typo\").checks[0]: \"rotaton-disabled\" is not a check"
        )),
        "{message}"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Stackhand.BadSuppressionList");

    // A parameter that does not exist is an error too, never an audit without the list.
    let auditor = KeyAuditor::new(
        &account.config,
        kms.kms.clone(),
        AuditSettings {
            suppressions_parameter: Some("/stackhand/audit/missing".to_owned()),
            ..settings(None)
        },
    );
    let err = auditor.handle(json!({})).await.expect_err("refused");
    assert!(
        err.to_string()
            .contains("reading the suppression list /stackhand/audit/missing"),
        "{err}"
    );
}
