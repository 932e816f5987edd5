use super::*;
use aws_sdk_securityhub::types::{ComplianceStatus, RecordState};

const NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

fn target() -> Target {
    Target {
        partition: "aws".into(),
        account: "111122223333".into(),
        region: "ap-southeast-7".into(),
    }
}

/// The longest a key ARN gets: the longest Region and partition, a multi-Region key id.
fn longest_arn() -> String {
    format!(
        "arn:aws-iso-b:kms:ap-southeast-7:111122223333:key/mrk-{}",
        "0123456789abcdef0123456789abcdef"
    )
}

fn finding(check: Check, detail: String) -> Finding {
    Finding {
        key_id: longest_arn()
            .rsplit('/')
            .next()
            .expect("present")
            .to_owned(),
        arn: longest_arn(),
        check,
        severity: check.severity(),
        detail,
    }
}

#[test]
fn every_check_fits_asff_limits_and_the_type_taxonomy() {
    // A policy quoted whole can make a detail of many kilobytes.
    let long_detail =
        "statement Sid \"x\" grants kms:* to arn:aws:iam::444455556666:role/ops; ".repeat(200);
    for check in Check::ALL {
        let built = failed(
            &target(),
            &finding(check, long_detail.clone()),
            None,
            "2026-12-01T06:00:00Z",
        );
        let id = built.id().expect("present");
        assert!(id.len() <= MAX_ID, "{check:?}: Id {}", id.len());
        assert_eq!(id, finding_id(check, &longest_arn()));
        assert!(built.title().expect("present").chars().count() <= MAX_TITLE);
        let description = built.description().expect("present");
        assert!(description.chars().count() <= MAX_DESCRIPTION, "{check:?}");
        assert!(description.ends_with('…'), "a clipped description says so");
        let recommendation = built
            .remediation()
            .expect("present")
            .recommendation()
            .expect("present")
            .text()
            .expect("present");
        assert!(!recommendation.is_empty() && recommendation.chars().count() <= MAX_RECOMMENDATION);
        for kind in built.types() {
            let parts: Vec<&str> = kind.split('/').collect();
            assert_eq!(parts.len(), 3, "{kind}");
            assert!(NAMESPACES.contains(&parts[0]), "{kind}");
            assert!(parts.iter().all(|p| !p.is_empty()));
        }
        assert_eq!(
            built.finding_provider_fields().expect("present").types(),
            built.types()
        );
        assert_eq!(
            built.generator_id().expect("present"),
            format!("{GENERATOR_PREFIX}{}", check.id())
        );
        assert_eq!(
            built.product_arn().expect("present"),
            "arn:aws:securityhub:ap-southeast-7:111122223333:product/111122223333/default"
        );
        assert_eq!(built.aws_account_id(), Some("111122223333"));
        assert_eq!(
            built.compliance().expect("present").status(),
            Some(&ComplianceStatus::Failed)
        );
        assert_eq!(key_arn(&built), Some(longest_arn().as_str()));
        assert!(
            built.workflow().is_none(),
            "a provider leaves the workflow to the team"
        );
    }
}

#[test]
fn short_text_is_kept_whole() {
    let built = failed(
        &target(),
        &finding(Check::MissingAlias, "no alias".into()),
        None,
        "t",
    );
    assert_eq!(built.description(), Some("no alias"));
}

#[test]
fn a_suppressed_finding_is_imported_suppressed_with_its_entry() {
    let f = finding(Check::UnusedKey, "unused for 120 days".into());
    let muted = SuppressedFinding {
        finding: f.clone(),
        suppression: "legacy".into(),
        reason: "retired in Q1".into(),
        expires: "2027-03-31".into(),
    };
    let built = failed(&target(), &f, Some(&muted), "t");
    assert_eq!(
        built.workflow().expect("present").status(),
        Some(&WorkflowStatus::Suppressed)
    );
    let fields = built.product_fields().expect("present");
    assert_eq!(fields["stackhand/suppression"], "legacy");
    assert_eq!(fields["stackhand/suppression-expires"], "2027-03-31");
}

#[test]
fn a_resolved_finding_is_the_same_finding_passed_and_archived() {
    let before = failed(
        &target(),
        &finding(Check::RotationDisabled, "off".into()),
        None,
        "2026-11-30T06:00:00Z",
    );
    let after = resolved(&before, "2026-12-01T06:00:00Z");
    assert_eq!(after.id(), before.id());
    assert_eq!(after.created_at(), Some("2026-11-30T06:00:00Z"));
    assert_eq!(after.updated_at(), Some("2026-12-01T06:00:00Z"));
    assert_eq!(
        after.compliance().expect("present").status(),
        Some(&ComplianceStatus::Passed)
    );
    assert_eq!(after.record_state(), Some(&RecordState::Archived));
    assert_eq!(after.resources(), before.resources());
    assert_eq!(after.types(), before.types());
}
