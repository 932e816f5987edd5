//! Throttling, which moto cannot produce: KMS answers ThrottlingException, the SDK's standard
//! retry (shared::aws::retry_config) backs off, and the audit either succeeds or reports the
//! one key it could not read, never the whole run.

use super::*;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
use aws_sdk_kms::operation::get_key_last_usage::GetKeyLastUsageOutput;
use aws_sdk_kms::operation::get_key_policy::GetKeyPolicyOutput;
use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
use aws_sdk_kms::operation::list_grants::ListGrantsOutput;
use aws_sdk_kms::operation::list_keys::ListKeysOutput;
use aws_sdk_kms::types::{
    KeyListEntry, KeyManagerType, KeyMetadata, KeySpec, KeyState, OriginType,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

fn key(id: &str) -> KeyMetadata {
    KeyMetadata::builder()
        .key_id(id)
        .arn(format!("arn:aws:kms:us-east-1:111122223333:key/{id}"))
        .aws_account_id("111122223333")
        .key_manager(KeyManagerType::Customer)
        .key_spec(KeySpec::SymmetricDefault)
        .origin(OriginType::AwsKms)
        .key_state(KeyState::Enabled)
        .build()
        .expect("key")
}

fn auditor(kms: Client) -> KeyAuditor {
    let config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let settings = AuditSettings {
        report_topic_arn: None,
        namespace: DEFAULT_NAMESPACE.to_owned(),
        required_tags: Vec::new(),
        concurrency: 1,
        suppressions_parameter: None,
        trusted_accounts: Vec::new(),
        unused_key_days: 90,
    };
    KeyAuditor::new(&config, kms, settings)
}

/// A mocked KMS with three keys whose DescribeKey answers `throttles` ThrottlingExceptions
/// before it answers at all.
fn kms_with(throttles: usize) -> (Client, aws_smithy_mocks::Rule) {
    let list_keys = mock!(Client::list_keys).then_output(|| {
        ListKeysOutput::builder()
            .set_keys(Some(
                ["k1", "k2", "k3"]
                    .iter()
                    .map(|id| KeyListEntry::builder().key_id(*id).build())
                    .collect(),
            ))
            .build()
    });
    let list_aliases =
        mock!(Client::list_aliases).then_output(|| ListAliasesOutput::builder().build());
    let describe = mock!(Client::describe_key)
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .times(throttles)
        .output(|| DescribeKeyOutput::builder().key_metadata(key("k")).build())
        .repeatedly()
        .build();
    let rotation = mock!(Client::get_key_rotation_status).then_output(|| {
        GetKeyRotationStatusOutput::builder()
            .key_rotation_enabled(true)
            .build()
    });
    let policy = mock!(Client::get_key_policy).then_output(|| {
        GetKeyPolicyOutput::builder()
            .policy(r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#)
            .build()
    });
    let usage =
        mock!(Client::get_key_last_usage).then_output(|| GetKeyLastUsageOutput::builder().build());
    let grants = mock!(Client::list_grants).then_output(|| ListGrantsOutput::builder().build());
    let kms = mock_client!(
        aws_sdk_kms,
        RuleMode::MatchAny,
        [
            &list_keys,
            &list_aliases,
            &describe,
            &rotation,
            &policy,
            &usage,
            &grants
        ],
        |config| config.retry_config(shared::aws::retry_config())
    );
    (kms, describe)
}

#[tokio::test]
async fn throttling_within_the_retry_budget_ends_in_a_complete_audit() {
    let retries = shared::aws::MAX_ATTEMPTS as usize - 1;
    let (kms, describe) = kms_with(retries);
    let report = auditor(kms)
        .audit(None, &Default::default())
        .await
        .expect("audit");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.keys_scanned, report.customer_keys), (3, 3));
    assert_eq!(describe.num_calls(), retries + 3);
}

#[tokio::test]
async fn throttling_past_the_budget_fails_that_key_only_and_names_the_cause() {
    let (kms, _) = kms_with(shared::aws::MAX_ATTEMPTS as usize);
    let report = auditor(kms)
        .audit(None, &Default::default())
        .await
        .expect("audit");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].key_id, "k1");
    assert!(
        report.errors[0].error.contains("ThrottlingException"),
        "{}",
        report.errors[0].error
    );
    assert_eq!(report.customer_keys, 2, "the other keys are still audited");
}
