//! key-rotator end to end: an account with one key for every case, rotated for real.

mod common;

use common::kms::{KmsView, NewKey};
use key_rotator::plan::Limits;
use key_rotator::{KeyRotator, RotatorSettings};
use serde_json::{Value, json};

const SETTINGS: RotatorSettings = RotatorSettings {
    dry_run: false,
    limits: Limits {
        default_period_days: 365,
        max_on_demand_rotations: 25,
    },
    concurrency: 4,
};

struct Keys {
    plain: String,
    tagged_180: String,
    turned_off: String,
    rsa: String,
    hmac: String,
    disabled: String,
    already: String,
    on_demand_not_due: String,
    imported: String,
}

async fn account() -> (e2e::Account, KmsView, Keys) {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let disabled = kms.create(NewKey::default()).await;
    kms.kms
        .disable_key()
        .key_id(&disabled)
        .send()
        .await
        .expect("disable");
    let keys = Keys {
        plain: kms.create(NewKey::default()).await,
        tagged_180: kms
            .create(NewKey {
                tags: &[("stackhand:rotation-period-days", "180")],
                ..NewKey::default()
            })
            .await,
        turned_off: kms
            .create(NewKey {
                tags: &[("stackhand:rotation-period-days", "disabled")],
                ..NewKey::default()
            })
            .await,
        rsa: kms
            .create(NewKey {
                spec: Some("RSA_2048"),
                usage: Some("SIGN_VERIFY"),
                ..NewKey::default()
            })
            .await,
        hmac: kms
            .create(NewKey {
                spec: Some("HMAC_256"),
                usage: Some("GENERATE_VERIFY_MAC"),
                ..NewKey::default()
            })
            .await,
        disabled,
        already: kms
            .create(NewKey {
                rotation: true,
                ..NewKey::default()
            })
            .await,
        on_demand_not_due: kms
            .create(NewKey {
                rotation: true,
                tags: &[("stackhand:rotate-every-days", "30")],
                ..NewKey::default()
            })
            .await,
        imported: kms
            .create(NewKey {
                origin: Some("EXTERNAL"),
                ..NewKey::default()
            })
            .await,
    };
    (account, kms, keys)
}

fn rotator(account: &e2e::Account, settings: RotatorSettings) -> KeyRotator {
    KeyRotator::new(aws_sdk_kms::Client::new(&account.config), settings)
}

/// `(action, reason)` of each report line for `key_id`.
fn lines(report: &Value, key_id: &str) -> Vec<(String, String)> {
    report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["keyId"] == key_id)
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_owned(),
                a["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn only_action(report: &Value, key_id: &str) -> String {
    let found = lines(report, key_id);
    assert_eq!(found.len(), 1, "{key_id}: {found:?}");
    found[0].0.clone()
}

#[tokio::test]
async fn a_scheduled_run_rotates_what_kms_can_and_says_why_it_skips_the_rest() {
    let (account, kms, keys) = account().await;
    let event = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": account.id, "time": "2026-11-26T03:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    let report = rotator(&account, SETTINGS)
        .handle(event)
        .await
        .expect("run");
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["scanned"], 9);

    assert_eq!(only_action(&report, &keys.plain), "enabled-rotation");
    assert!(kms.rotation_enabled(&keys.plain).await);
    let tagged = &report["actions"]
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["keyId"] == keys.tagged_180.as_str())
        .expect("line")["rotationPeriodDays"];
    assert_eq!(tagged, 180);
    assert!(kms.rotation_enabled(&keys.tagged_180).await);

    for (key, reason) in [
        (&keys.turned_off, "turned off by tag"),
        (&keys.rsa, "asymmetric key (RSA_2048)"),
        (&keys.hmac, "HMAC key (HMAC_256)"),
        (&keys.disabled, "key state is Disabled"),
        (&keys.imported, "imported key material"),
    ] {
        let found = lines(&report, key);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "skipped");
        assert!(found[0].1.contains(reason), "{key}: {}", found[0].1);
    }
    assert!(
        !kms.rotation_enabled(&keys.turned_off).await,
        "left off on purpose"
    );
    assert!(lines(&report, &keys.already).is_empty(), "nothing to do");
    assert!(
        lines(&report, &keys.on_demand_not_due).is_empty(),
        "created today: not due"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_changes_nothing() {
    let (account, kms, keys) = account().await;
    let report = rotator(&account, SETTINGS)
        .handle(json!({"dryRun": true}))
        .await
        .expect("run");
    assert_eq!(report["dryRun"], true);
    assert_eq!(only_action(&report, &keys.plain), "enabled-rotation");
    assert!(
        !kms.rotation_enabled(&keys.plain).await,
        "a dry run changes nothing"
    );
    assert!(!kms.rotation_enabled(&keys.tagged_180).await);
}

#[tokio::test]
async fn the_scheduler_shape_and_a_key_list_are_accepted() {
    let (account, kms, keys) = account().await;
    let settings = RotatorSettings {
        dry_run: true,
        ..SETTINGS
    };
    // EventBridge Scheduler sends detail as a JSON string; the function's DRY_RUN applies.
    let report = rotator(&account, settings)
        .handle(
            json!({"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"}),
        )
        .await
        .expect("run");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["scanned"], 9);

    let report = rotator(&account, SETTINGS)
        .handle(json!({"keyIds": [keys.plain]}))
        .await
        .expect("run");
    assert_eq!(report["scanned"], 1);
    assert_eq!(only_action(&report, &keys.plain), "enabled-rotation");
    assert!(kms.rotation_enabled(&keys.plain).await);
    assert!(
        !kms.rotation_enabled(&keys.tagged_180).await,
        "not in the list"
    );

    let report = rotator(&account, SETTINGS)
        .handle(json!({"keyIds": ["no-such-key"]}))
        .await
        .expect("run");
    assert_eq!(only_action(&report, "no-such-key"), "failed");
}

#[tokio::test]
async fn an_event_that_is_not_a_schedule_is_an_error_that_says_what_came() {
    let account = e2e::emulator().new_account().await;
    let err = rotator(&account, SETTINGS)
        .handle(json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {}}))
        .await
        .expect_err("not a schedule");
    assert!(
        err.to_string()
            .contains("detail-type \"CloudWatch Alarm State Change\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_replica_is_left_to_its_primary() {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let primary = kms
        .create(NewKey {
            multi_region: true,
            ..NewKey::default()
        })
        .await;
    kms.kms
        .replicate_key()
        .key_id(&primary)
        .replica_region("eu-west-1")
        .send()
        .await
        .expect("replicate");
    let config = account
        .config
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    let report = KeyRotator::new(aws_sdk_kms::Client::new(&config), SETTINGS)
        .handle(json!({}))
        .await
        .expect("run");
    let found = lines(&report, &primary);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, "skipped");
    assert!(
        found[0].1.starts_with("multi-Region replica"),
        "{}",
        found[0].1
    );
}

/// An on-demand rotation actually performed (ListKeyRotations shows it), and, once the key has
/// used KMS's 25 on-demand rotations, refused with a reason instead of attempted.
#[tokio::test]
async fn an_on_demand_rotation_is_performed_then_refused_at_the_quota() {
    let account = e2e::emulator().new_account().await;
    let kms = KmsView::new(&account.config);
    let key = kms
        .create(NewKey {
            rotation: true,
            tags: &[("stackhand:rotate-every-days", "30")],
            ..NewKey::default()
        })
        .await;
    let event = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": account.id, "time": "2026-11-26T03:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    let on_demand = || async {
        kms.kms
            .list_key_rotations()
            .key_id(&key)
            .send()
            .await
            .expect("ListKeyRotations")
            .rotations()
            .iter()
            .filter(|r| r.rotation_type() == Some(&aws_sdk_kms::types::RotationType::OnDemand))
            .count()
    };

    account.age_key(&key, 40).await;
    let report = rotator(&account, SETTINGS)
        .handle(event.clone())
        .await
        .expect("run");
    assert_eq!(only_action(&report, &key), "rotated-on-demand");
    assert_eq!(on_demand().await, 1, "KMS rotated the key");

    for _ in 0..24 {
        kms.kms
            .rotate_key_on_demand()
            .key_id(&key)
            .send()
            .await
            .expect("by hand");
    }
    account.age_key(&key, 40).await;
    let report = rotator(&account, SETTINGS)
        .handle(event)
        .await
        .expect("run");
    let found = lines(&report, &key);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "skipped");
    assert!(
        found[0].1.contains("used 25 of its 25 on-demand rotations"),
        "{}",
        found[0].1
    );
    assert_eq!(on_demand().await, 25, "no 26th attempt");
}
