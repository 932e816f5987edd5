//! key-auditor across an Organization, end to end on the emulator: the scheduled run fans out one
//! unit per account and Region on a queue; the queue feeds the same function the way Lambda's
//! event source does (batches, partial batch failures, redrive to a dead-letter queue); each unit
//! assumes the member role with its ExternalId and imports into the member's Security Hub.

mod common;

use common::kms::{KmsView, NewKey};
use e2e::{Account, Fault, FaultProxy};
use key_auditor::fleet::{Accounts, FleetSettings};
use key_auditor::{AuditSettings, DEFAULT_NAMESPACE, KeyAuditor};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const EXTERNAL_ID: &str = "stackhand-test-external-id-0001";
const ROLE: &str = "stackhand-key-audit";
/// Receives before SQS moves a message to the dead-letter queue (template: maxReceiveCount).
const MAX_RECEIVES: i32 = 2;

/// The audit account's side, as template.yaml makes it.
struct Central {
    account: Account,
    queue_url: String,
    queue_arn: String,
    dead_url: String,
    dead_arn: String,
    table: String,
    inbox: String,
    topic: String,
    bucket: String,
}

async fn central() -> Central {
    let account = e2e::emulator().new_account().await;
    let sqs = aws_sdk_sqs::Client::new(&account.config);
    let make = |name: &'static str| {
        let sqs = sqs.clone();
        async move {
            sqs.create_queue()
                .queue_name(name)
                .send()
                .await
                .expect("queue")
                .queue_url
                .expect("url")
        }
    };
    let dead_url = make("audit-dead").await;
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:{}:{name}", account.id);
    let queue_url = sqs
        .create_queue()
        .queue_name("audit-units")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": arn("audit-dead"), "maxReceiveCount": MAX_RECEIVES.to_string()}).to_string(),
        )
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let table = common::audit_runs_table(&account).await;
    let topic = common::topic(&account, "audit-report").await;
    let inbox = common::inbox(&account, &topic, "audit-inbox").await;
    let bucket = format!("audit-findings-{}", account.id);
    aws_sdk_s3::Client::new(&account.config)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("findings bucket");
    Central {
        queue_arn: arn("audit-units"),
        dead_arn: arn("audit-dead"),
        account,
        queue_url,
        dead_url,
        table,
        inbox,
        topic,
        bucket,
    }
}

impl Central {
    fn auditor(&self, config: &aws_config::SdkConfig, accounts: &[&Account]) -> KeyAuditor {
        self.auditor_with(config, accounts, None)
    }

    fn auditor_with(
        &self,
        config: &aws_config::SdkConfig,
        accounts: &[&Account],
        suppressions_parameter: Option<&str>,
    ) -> KeyAuditor {
        let settings = AuditSettings {
            report_topic_arn: Some(self.topic.clone()),
            namespace: DEFAULT_NAMESPACE.to_owned(),
            required_tags: vec![],
            concurrency: 8,
            suppressions_parameter: suppressions_parameter.map(str::to_owned),
            trusted_accounts: vec![],
            unused_key_days: 90,
        };
        let fleet = FleetSettings {
            accounts: Accounts::Listed(accounts.iter().map(|a| a.id.clone()).collect()),
            regions: REGIONS.iter().map(|r| (*r).to_owned()).collect(),
            queue_url: self.queue_url.clone(),
            dead_letter_queue_arn: Some(self.dead_arn.clone()),
            runs_table: self.table.clone(),
            member_role_name: ROLE.to_owned(),
            external_id: EXTERNAL_ID.to_owned(),
            security_hub: true,
            findings_bucket: Some(self.bucket.clone()),
        };
        KeyAuditor::new(config, aws_sdk_kms::Client::new(config), settings)
            .with_fleet(config, fleet)
    }

    /// What Lambda's SQS event source does: batches of up to 10 from the queue and from its
    /// dead-letter queue, deleting what the function did not name in `batchItemFailures`, until
    /// both are empty. A failed message is visible again at once (no visibility wait in tests).
    async fn drain(&self, auditor: &KeyAuditor) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&self.account.config);
        let mut invocations = 0;
        let mut idle_rounds = 0;
        while idle_rounds < 2 {
            idle_rounds += 1;
            for (url, arn) in [
                (&self.queue_url, &self.queue_arn),
                (&self.dead_url, &self.dead_arn),
            ] {
                let messages = sqs
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("receive")
                    .messages
                    .unwrap_or_default();
                if messages.is_empty() {
                    continue;
                }
                idle_rounds = 0;
                let records: Vec<Value> = messages
                    .iter()
                    .map(|m| {
                        json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                               "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                               "eventSourceARN": arn, "awsRegion": "us-east-1"})
                    })
                    .collect();
                let answer = auditor
                    .handle(json!({"Records": records}))
                    .await
                    .expect("a batch answer");
                invocations += 1;
                let retry: BTreeSet<&str> = answer["batchItemFailures"]
                    .as_array()
                    .expect("batchItemFailures")
                    .iter()
                    .filter_map(|f| f["itemIdentifier"].as_str())
                    .collect();
                for m in &messages {
                    if !retry.contains(m.message_id().unwrap_or_default()) {
                        sqs.delete_message()
                            .queue_url(url)
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .send()
                            .await
                            .expect("delete");
                    }
                }
            }
        }
        invocations
    }

    /// Every finding in the JSON Lines objects of the findings bucket, as (account, Region, check,
    /// key ARN), and the number of objects.
    async fn findings_in_s3(&self) -> (Open, usize) {
        let s3 = aws_sdk_s3::Client::new(&self.account.config);
        let listed = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix("findings/dt=")
            .send()
            .await
            .expect("list");
        let mut found = Open::new();
        for object in listed.contents() {
            let body = s3
                .get_object()
                .bucket(&self.bucket)
                .key(object.key().unwrap_or_default())
                .send()
                .await
                .expect("get");
            let bytes = body.body.collect().await.expect("body").into_bytes();
            for line in String::from_utf8_lossy(&bytes).lines() {
                let finding: Value = serde_json::from_str(line).expect("one JSON object a line");
                found.insert((
                    finding["cloud"]["account"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    finding["cloud"]["region"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    finding["compliance"]["control"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    finding["resources"][0]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
        }
        (found, listed.contents().len())
    }

    /// The run summaries published so far: (subject, message).
    async fn summaries(&self) -> Vec<(String, String)> {
        common::received(&self.account, &self.inbox)
            .await
            .iter()
            .map(|m| {
                (
                    m["Subject"].as_str().unwrap_or_default().to_owned(),
                    m["Message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

fn in_region(account: &Account, region: &str) -> aws_config::SdkConfig {
    account
        .config
        .to_builder()
        .region(aws_sdk_kms::config::Region::new(region.to_owned()))
        .build()
}

/// stacks/audit-member.yaml's role: trusts the auditor with `external_id`.
async fn member_role(member: &Account, auditor: &Account, external_id: &str) {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", auditor.id)}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]});
    aws_sdk_iam::Client::new(&member.config)
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("member role");
}

/// (account, Region, check, key ARN) of the open findings in the member's Security Hub.
type Open = BTreeSet<(String, String, String, String)>;

/// Every finding of ours in the member's Security Hub: (id, compliance, record state, workflow).
async fn hub_findings(member: &Account, region: &str) -> Vec<(String, String, String, String)> {
    let hub = aws_sdk_securityhub::Client::new(&in_region(member, region));
    let mut found = Vec::new();
    let mut next = None;
    loop {
        let page = hub
            .get_findings()
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .expect("GetFindings");
        for f in page.findings() {
            found.push((
                f.id().unwrap_or_default().to_owned(),
                f.compliance()
                    .and_then(|c| c.status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                f.record_state()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                f.workflow()
                    .and_then(|w| w.status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ));
        }
        next = page.next_token.filter(|t| !t.is_empty());
        if next.is_none() {
            return found;
        }
    }
}

async fn open_findings(members: &[&Account]) -> Open {
    let mut open = Open::new();
    for member in members {
        for region in REGIONS {
            for (id, compliance, state, _) in hub_findings(member, region).await {
                if compliance == "FAILED" && state == "ACTIVE" {
                    // stackhand/key-auditor/<check>/<key arn>
                    let rest = id.trim_start_matches("stackhand/key-auditor/");
                    let (check, arn) = rest.split_once('/').expect("id shape");
                    open.insert((
                        member.id.clone(),
                        region.to_owned(),
                        check.to_owned(),
                        arn.to_owned(),
                    ));
                }
            }
        }
    }
    open
}

/// In each Region: a good key, and a key with rotation off; `public` adds a key anyone may use.
async fn keys(member: &Account, public: bool, expected: &mut Open) -> Vec<(String, String)> {
    let mut rotation_off = Vec::new();
    for region in REGIONS {
        let kms = KmsView::new(&in_region(member, region));
        let arn = |id: &str| format!("arn:aws:kms:{region}:{}:key/{id}", member.id);
        kms.create(NewKey {
            alias: Some("alias/good"),
            rotation: true,
            ..NewKey::default()
        })
        .await;
        let off = kms
            .create(NewKey {
                alias: Some("alias/rotation-off"),
                rotation: false,
                ..NewKey::default()
            })
            .await;
        expected.insert((
            member.id.clone(),
            region.to_owned(),
            "rotation-disabled".into(),
            arn(&off),
        ));
        rotation_off.push((region.to_owned(), off));
        if public {
            let root = format!("arn:aws:iam::{}:root", member.id);
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]});
            let open = kms
                .create(NewKey {
                    alias: Some("alias/public"),
                    rotation: true,
                    policy: Some(policy),
                    ..NewKey::default()
                })
                .await;
            expected.insert((
                member.id.clone(),
                region.to_owned(),
                "public-key-policy".into(),
                arn(&open),
            ));
        }
    }
    rotation_off
}

#[test]
fn an_organization_run_audits_every_member_reports_who_could_not_be_audited_and_resolves_what_was_fixed()
 {
    on_worker_stack(async {
        let central = central().await;
        let emulator = e2e::emulator();
        let (first, second) = (emulator.new_account().await, emulator.new_account().await);
        let (no_role, wrong_id) = (emulator.new_account().await, emulator.new_account().await);
        member_role(&first, &central.account, EXTERNAL_ID).await;
        member_role(&second, &central.account, EXTERNAL_ID).await;
        member_role(&wrong_id, &central.account, "another-external-id-0000").await;
        let mut expected = Open::new();
        let fixable = keys(&first, false, &mut expected).await;
        keys(&second, true, &mut expected).await;
        keys(&no_role, true, &mut Open::new()).await;

        let members = [&first, &second, &no_role, &wrong_id];
        let auditor = central.auditor(&central.account.config, &members);
        let fanned = auditor.handle(scheduled()).await.expect("fan-out");
        assert_eq!(fanned["units"], 8, "{fanned}");
        assert_eq!(fanned["accounts"], 4);
        central.drain(&auditor).await;

        // Every finding, in the member account and Region it belongs to: no miss, no extra.
        assert_eq!(
            open_findings(&[&first, &second, &no_role, &wrong_id]).await,
            expected
        );

        // The same findings as JSON Lines for Athena: one object per audited unit.
        assert_eq!(central.findings_in_s3().await, (expected.clone(), 4));

        // One summary for the run; the members that could not be audited are named, never compliant.
        let summaries = central.summaries().await;
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        let (subject, message) = &summaries[0];
        assert_eq!(
            subject,
            "KMS key audit: 6 findings on 10 keys, 40% compliant, 4 not audited"
        );
        assert!(
            message.contains("4 accounts x 2 Regions: 4 audited, 4 not audited"),
            "{message}"
        );
        for region in REGIONS {
            assert!(
                message.contains(&format!(
                    "{} {region} [not-audited]: AssumeRole",
                    no_role.id
                )),
                "{message}"
            );
            assert!(
                message.contains(&format!(
                    "{} {region} [not-audited]: AssumeRole",
                    wrong_id.id
                )),
                "{message}"
            );
        }
        assert!(message.contains("ExternalId does not match"), "{message}");
        assert!(
            message.contains("rotation-disabled           4"),
            "{message}"
        );

        // Metrics carry the account and the Region.
        let metrics = aws_sdk_cloudwatch::Client::new(&central.account.config)
            .list_metrics()
            .namespace(DEFAULT_NAMESPACE)
            .metric_name("CompliancePercent")
            .send()
            .await
            .expect("metrics");
        let units: BTreeSet<(String, String)> = metrics
            .metrics()
            .iter()
            .map(|m| {
                let dim = |name: &str| {
                    m.dimensions()
                        .iter()
                        .find(|d| d.name() == Some(name))
                        .and_then(|d| d.value())
                        .unwrap_or_default()
                        .to_owned()
                };
                (dim("AccountId"), dim("Region"))
            })
            .collect();
        assert_eq!(units.len(), 4, "{units:?}");
        assert!(units.contains(&(second.id.clone(), "eu-west-1".to_owned())));

        // The next run: one key fixed by hand. Its finding is resolved; the others are updated, not doubled.
        let (region, key) = &fixable[0];
        KmsView::new(&in_region(&first, region))
            .kms
            .enable_key_rotation()
            .key_id(key)
            .send()
            .await
            .expect("fix");
        auditor.handle(scheduled()).await.expect("fan-out");
        central.drain(&auditor).await;
        let fixed_arn = format!("arn:aws:kms:{region}:{}:key/{key}", first.id);
        expected.remove(&(
            first.id.clone(),
            region.clone(),
            "rotation-disabled".into(),
            fixed_arn.clone(),
        ));
        assert_eq!(open_findings(&members).await, expected);
        let fixed_id = format!("stackhand/key-auditor/rotation-disabled/{fixed_arn}");
        let in_hub = hub_findings(&first, region).await;
        assert_eq!(
            in_hub.len(),
            1,
            "one finding a key and check, ever: {in_hub:?}"
        );
        assert_eq!(
            in_hub[0],
            (
                fixed_id,
                "PASSED".into(),
                "ARCHIVED".into(),
                "RESOLVED".into()
            )
        );
        let summaries = central.summaries().await;
        assert_eq!(
            summaries.len(),
            1,
            "the second run's one summary: {summaries:?}"
        );
        assert!(
            summaries[0].1.contains("1 resolved since the last run"),
            "{}",
            summaries[0].1
        );
    });
}

#[test]
fn suppressions_mute_by_account_across_the_run_and_a_malformed_list_sends_no_unit() {
    on_worker_stack(async {
        let central = central().await;
        let (muted, heard) = (
            e2e::emulator().new_account().await,
            e2e::emulator().new_account().await,
        );
        member_role(&muted, &central.account, EXTERNAL_ID).await;
        member_role(&heard, &central.account, EXTERNAL_ID).await;
        let mut muted_findings = Open::new();
        keys(&muted, false, &mut muted_findings).await;
        let mut expected = Open::new();
        keys(&heard, false, &mut expected).await;
        let ssm = aws_sdk_ssm::Client::new(&central.account.config);
        let put = |name: &'static str, value: String| {
            let ssm = ssm.clone();
            async move {
                ssm.put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .overwrite(true)
                    .send()
                    .await
                    .expect("suppression list");
            }
        };
        let list = json!({"suppressions": [
            {"id": "legacy-account", "reason": "closing in Q1", "expires": "2999-12-31",
             "accounts": [muted.id], "checks": ["rotation-disabled"]},
            {"id": "long-gone", "reason": "expired", "expires": "2020-01-01", "accounts": [heard.id]}]});
        put("/stackhand/audit/org", list.to_string()).await;
        let auditor = central.auditor_with(
            &central.account.config,
            &[&muted, &heard],
            Some("/stackhand/audit/org"),
        );
        auditor.handle(scheduled()).await.expect("fan-out");
        central.drain(&auditor).await;

        // Muted, not dropped: in Security Hub as SUPPRESSED, in S3 as Suppressed, counted in the summary.
        assert_eq!(open_findings(&[&heard]).await, expected);
        for region in REGIONS {
            let findings = hub_findings(&muted, region).await;
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(
                (findings[0].1.as_str(), findings[0].3.as_str()),
                ("FAILED", "SUPPRESSED")
            );
        }
        let (subject, message) = central.summaries().await.remove(0);
        assert!(
            subject.starts_with("KMS key audit: 2 findings on 8 keys, 75% compliant"),
            "{subject}"
        );
        assert!(message.contains("2 findings suppressed"), "{message}");
        assert!(
            message.contains("long-gone (expired 2020-01-01)"),
            "{message}"
        );

        // A malformed list fails the run before any unit is sent.
        put("/stackhand/audit/org", r#"{"suppressions": [{"id": "typo", "reason": "r", "expires": "2999-01-01", "checks": ["rotaton-disabled"]}]}"#.to_owned()).await;
        let refused = auditor.handle(scheduled()).await.expect_err("malformed");
        assert!(
            refused
                .to_string()
                .contains("suppressions[0] (id \"typo\").checks[0]"),
            "{refused}"
        );
        assert_eq!(central.drain(&auditor).await, 0, "no unit was sent");
    });
}

#[test]
fn a_unit_that_fails_is_retried_and_in_the_end_dead_lettered_and_reported() {
    on_worker_stack(async {
        let central = central().await;
        let member = e2e::emulator().new_account().await;
        member_role(&member, &central.account, EXTERNAL_ID).await;
        let mut expected = Open::new();
        keys(&member, false, &mut expected).await;
        let proxy = FaultProxy::start(&central.account.endpoint).await;
        let through_proxy = central
            .account
            .config
            .to_builder()
            .endpoint_url(&proxy.endpoint)
            .build();
        let auditor = central.auditor(&through_proxy, &[&member]);

        // Throttled beyond the SDK's own retries once: the unit fails, then its retry succeeds.
        proxy.set_for("securityhub", Fault::Throttle(shared::aws::MAX_ATTEMPTS));
        auditor.handle(scheduled()).await.expect("fan-out");
        let invocations = central.drain(&auditor).await;
        assert!(invocations >= 2, "the failed unit came back: {invocations}");
        assert_eq!(open_findings(&[&member]).await, expected);
        let summaries = central.summaries().await;
        assert_eq!(summaries.len(), 1);
        assert!(
            summaries[0]
                .0
                .ends_with("2 findings on 4 keys, 50% compliant"),
            "{:?}",
            summaries[0]
        );

        // Security Hub down for good: every attempt fails, and the units end dead-lettered, reported.
        proxy.set_for("securityhub", Fault::Status(500));
        auditor.handle(scheduled()).await.expect("fan-out");
        central.drain(&auditor).await;
        let summaries = central.summaries().await;
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        let (subject, message) = &summaries[0];
        assert!(
            subject.ends_with("0 findings on 0 keys, 100% compliant, 2 not audited"),
            "{subject}"
        );
        for region in REGIONS {
            assert!(
            message.contains(&format!(
                "{} {region} [failed]: every attempt failed; the last: GetFindings in {} {region}",
                member.id, member.id
            )),
            "{message}"
        );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_event_without_an_organization_run_configured_is_refused() {
    let account = e2e::emulator().new_account().await;
    let auditor = KeyAuditor::from_config(&account.config).expect("auditor");
    let err = auditor
        .handle(json!({"Records": [{"messageId": "m", "body": "{}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}]}))
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("AUDIT_ACCOUNTS is not set"),
        "{err}"
    );
}

/// The schedule's event, as the template's EventBridge Scheduler sends it.
fn scheduled() -> Value {
    let text = std::fs::read_to_string(
        e2e::emulator::workspace_root().join("events/key-auditor/scheduler-event.json"),
    )
    .expect("sample event");
    serde_json::from_str(&text).expect("JSON")
}

/// Runs a test body on a runtime worker with Lambda's main-thread stack (8 MiB): unoptimised,
/// an audit nested in a batch in a run needs more than a test thread's 2 MiB.
fn on_worker_stack(body: impl std::future::Future<Output = ()> + Send + 'static) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async { tokio::spawn(body).await.expect("the test body") });
}
