//! Every finding of a unit as JSON Lines, one object a line, in the fields of OCSF's Compliance
//! Finding (class 2003), written to S3 where Athena reads them (docs/functions.md, "Findings in
//! S3 for Athena"): `findings/dt=<day>/<account>-<region>-<run>.jsonl`.

use crate::Report;
use crate::asff;
use crate::checks::{Finding, Severity};
use crate::fleet::Unit;
use crate::suppressions::SuppressedFinding;
use serde_json::{Value, json};
use shared::error::describe_aws_error;

/// OCSF 1.1: Findings category, Compliance Finding class.
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
const OCSF_VERSION: &str = "1.1.0";

fn severity_id(severity: Severity) -> u32 {
    match severity {
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// The object key: partitioned by day for Athena's partition projection, one object a unit.
pub fn object_key(unit: &Unit) -> String {
    let day = unit.run.get(..10).unwrap_or("unknown");
    format!(
        "findings/dt={day}/{}-{}-{}.jsonl",
        unit.account,
        unit.region,
        unit.run.replace(':', "")
    )
}

fn line(
    unit: &Unit,
    finding: &Finding,
    suppressed: Option<&SuppressedFinding>,
    now_ms: i64,
) -> Value {
    let check = finding.check;
    let (status, status_id) = match suppressed {
        Some(_) => ("Suppressed", 3),
        None => ("New", 1),
    };
    json!({
        "time": now_ms,
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "type_uid": CLASS_UID * 100 + 1,
        "activity_id": 1,
        "severity_id": severity_id(finding.severity),
        "severity": format!("{:?}", finding.severity),
        "status": status,
        "status_id": status_id,
        "finding_info": {
            "uid": asff::finding_id(check, &finding.arn),
            "title": format!("KMS key {}: {}", finding.key_id, check.id()),
            "desc": finding.detail,
            "types": [asff::finding_type(check)],
        },
        "compliance": {"control": check.id(), "status": "Fail", "status_id": 3},
        "remediation": {"desc": check.remedy()},
        "resources": [{"uid": finding.arn, "name": finding.key_id, "type": "AWS::KMS::Key", "region": unit.region}],
        "cloud": {"provider": "AWS", "account": {"uid": unit.account}, "region": unit.region},
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "key-auditor", "vendor_name": "stackhand"},
            "correlation_uid": unit.run,
        },
        "unmapped": suppressed.map(|s| json!({
            "suppression": s.suppression,
            "reason": s.reason,
            "expires": s.expires,
        })),
    })
}

/// One line per finding that stands, then one per suppressed finding.
pub fn lines(unit: &Unit, report: &Report, now_ms: i64) -> String {
    let standing = report.findings.iter().map(|f| line(unit, f, None, now_ms));
    let muted = report
        .suppressed
        .iter()
        .map(|s| line(unit, &s.finding, Some(s), now_ms));
    let mut text = String::new();
    for object in standing.chain(muted) {
        text.push_str(&object.to_string());
        text.push('\n');
    }
    text
}

/// Writes the unit's lines (an empty object when it found nothing, so a clean unit is on record).
pub async fn write(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    unit: &Unit,
    report: &Report,
) -> Result<String, String> {
    let key = object_key(unit);
    let now_ms = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .to_millis()
        .unwrap_or(0);
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/x-ndjson")
        .body(aws_sdk_s3::primitives::ByteStream::from(
            lines(unit, report, now_ms).into_bytes(),
        ))
        .send()
        .await
        .map_err(|e| format!("PutObject s3://{bucket}/{key}: {}", describe_aws_error(&e)))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Check;
    use crate::report::KeyOutcome;

    fn unit() -> Unit {
        Unit {
            run: "2026-12-01T06:00:00Z-1a2b3c4d".into(),
            account: "111122223333".into(),
            region: "eu-west-1".into(),
        }
    }

    fn finding(check: Check) -> Finding {
        Finding {
            key_id: "k1".into(),
            arn: "arn:aws:kms:eu-west-1:111122223333:key/k1".into(),
            check,
            severity: check.severity(),
            detail: "line one\nline \"two\"".into(),
        }
    }

    #[test]
    fn one_json_object_a_line_for_each_finding_and_each_suppressed_one() {
        let muted = SuppressedFinding {
            finding: finding(Check::UnusedKey),
            suppression: "legacy".into(),
            reason: "retired".into(),
            expires: "2027-03-31".into(),
        };
        let report = Report::new(
            1,
            vec![KeyOutcome::Judged {
                standing: vec![finding(Check::RotationDisabled)],
                muted: vec![muted],
            }],
            vec![],
        );
        let text = lines(&unit(), &report, 1_764_568_800_000);
        let parsed: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON object"))
            .collect();
        assert_eq!(parsed.len(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(parsed[0]["compliance"]["control"], "rotation-disabled");
        assert_eq!(parsed[0]["status"], "New");
        assert_eq!(parsed[0]["severity_id"], 4);
        assert_eq!(parsed[0]["cloud"]["account"]["uid"], "111122223333");
        assert_eq!(
            parsed[0]["finding_info"]["uid"],
            asff::finding_id(
                Check::RotationDisabled,
                "arn:aws:kms:eu-west-1:111122223333:key/k1"
            )
        );
        assert_eq!(parsed[0]["finding_info"]["desc"], "line one\nline \"two\"");
        assert_eq!(parsed[1]["status"], "Suppressed");
        assert_eq!(parsed[1]["unmapped"]["suppression"], "legacy");
    }

    #[test]
    fn objects_are_partitioned_by_day_and_named_by_unit() {
        assert_eq!(
            object_key(&unit()),
            "findings/dt=2026-12-01/111122223333-eu-west-1-2026-12-01T060000Z-1a2b3c4d.jsonl"
        );
    }
}
