use super::*;
use crate::checks::Severity;
use serde_json::json;

const TODAY: &str = "2026-11-30";
const ARN: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn finding(check: Check) -> Finding {
    Finding {
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
        arn: ARN.to_owned(),
        check,
        severity: Severity::Low,
        detail: "d".to_owned(),
    }
}

fn list(entries: Value) -> Suppressions {
    parse(&json!({ "suppressions": entries }).to_string(), TODAY).expect("valid")
}

fn error(entries: Value) -> String {
    parse(&json!({ "suppressions": entries }).to_string(), TODAY)
        .expect_err("malformed")
        .to_string()
}

fn entry(extra: Value) -> Value {
    let mut e = json!({"id": "legacy", "reason": "migrating in Q1", "expires": "2027-03-31"});
    for (k, v) in extra.as_object().expect("object") {
        e[k] = v.clone();
    }
    e
}

fn key<'a>(aliases: &'a [String], tags: Option<&'a BTreeMap<String, String>>) -> KeyIdentity<'a> {
    KeyIdentity {
        arn: ARN,
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab",
        aliases,
        tags,
    }
}

#[test]
fn patterns_take_stars_anywhere() {
    assert!(matches("alias/legacy-*", "alias/legacy-orders"));
    assert!(matches("*", ""));
    assert!(matches("arn:aws:kms:*:111122223333:key/*", ARN));
    assert!(matches("a*b*c", "a-b-b-c"));
    assert!(!matches("a*b*c", "a-c-b"));
    assert!(!matches("alias/legacy", "alias/legacy-orders"));
    assert!(
        !matches("ab*ba", "aba"),
        "prefix and suffix must not overlap"
    );
}

#[test]
fn fields_are_anded_and_values_ored() {
    let s = list(json!([entry(
        json!({"checks": ["missing-alias", "multi-region-key"],
        "regions": ["eu-west-1", "eu-central-1"], "keys": ["alias/legacy-*"]})
    )]));
    let aliases = vec!["alias/legacy-orders".to_owned()];
    let (standing, muted) = s.apply(
        vec![
            finding(Check::MissingAlias),
            finding(Check::RotationDisabled),
        ],
        &key(&aliases, None),
    );
    assert_eq!(
        standing,
        [finding(Check::RotationDisabled)],
        "not a listed check"
    );
    assert_eq!(muted.len(), 1);
    assert_eq!(
        (
            muted[0].suppression.as_str(),
            muted[0].reason.as_str(),
            muted[0].expires.as_str()
        ),
        ("legacy", "migrating in Q1", "2027-03-31")
    );
    // Same check, but the key's aliases do not match: the AND fails.
    let other = vec!["alias/orders".to_owned()];
    let (standing, muted) = s.apply(vec![finding(Check::MissingAlias)], &key(&other, None));
    assert_eq!((standing.len(), muted.len()), (1, 0));
}

#[test]
fn accounts_keys_and_tags_match_the_key() {
    let tags = BTreeMap::from([("team".to_owned(), "payments".to_owned())]);
    let by_account = list(json!([entry(json!({"accounts": ["111122223333"]}))]));
    let by_key_id = list(json!([entry(json!({"keys": ["1234abcd-*"]}))]));
    let by_tag = list(json!([entry(json!({"tags": {"team": "pay*"}}))]));
    let elsewhere = list(json!([entry(json!({"accounts": ["444455556666"]}))]));
    for (s, muted) in [(by_account, 1), (by_key_id, 1), (by_tag, 1), (elsewhere, 0)] {
        let (_, m) = s.apply(vec![finding(Check::DisabledKey)], &key(&[], Some(&tags)));
        assert_eq!(m.len(), muted);
    }
    // A tag condition never matches a key whose tags were not read or lack the tag.
    let by_tag = list(json!([entry(json!({"tags": {"team": "payments"}}))]));
    assert!(by_tag.use_tags());
    let (_, m) = by_tag.apply(vec![finding(Check::DisabledKey)], &key(&[], None));
    assert!(m.is_empty());
}

#[test]
fn an_expired_entry_stops_applying_and_is_listed() {
    let s = list(json!([
        entry(json!({"id": "old", "expires": "2026-11-29", "checks": ["disabled-key"]})),
        entry(json!({"id": "today", "expires": TODAY, "checks": ["disabled-key"]}))
    ]));
    assert_eq!(s.expired.len(), 1);
    assert_eq!(
        (s.expired[0].id.as_str(), s.expired[0].expired.as_str()),
        ("old", "2026-11-29")
    );
    let (_, muted) = s.apply(vec![finding(Check::DisabledKey)], &key(&[], None));
    assert_eq!(muted[0].suppression, "today", "the last day still applies");
}

#[test]
fn a_malformed_list_names_the_entry_and_the_field() {
    assert_eq!(
        error(json!([entry(
            json!({"checks": ["disabled-key", "rotaton-disabled"]})
        )])),
        format!(
            "suppressions[0] (id \"legacy\").checks[1]: \"rotaton-disabled\" is not a check; known: {}",
            Check::ALL
                .iter()
                .map(|c| c.id())
                .collect::<Vec<_>>()
                .join(", ")
        )
    );
    let cases = [
        (
            json!([entry(
                json!({"checks": ["disabled-key"], "expires": "2027-13-01"})
            )]),
            "suppressions[0] (id \"legacy\").expires: must be a date YYYY-MM-DD, got \"2027-13-01\"",
        ),
        (
            json!([entry(json!({"checks": ["disabled-key"]})), {"reason": "r", "expires": TODAY}]),
            "suppressions[1].id: is required",
        ),
        (
            json!([entry(json!({}))]),
            "suppressions[0] (id \"legacy\").(entry): must name at least one of checks, accounts, regions, keys or tags",
        ),
        (
            json!([entry(json!({"checks": ["disabled-key"], "check": ["x"]}))]),
            "suppressions[0] (id \"legacy\").check: is not a field",
        ),
        (
            json!([entry(json!({"accounts": ["prod"]}))]),
            "suppressions[0] (id \"legacy\").accounts[0]: must be a 12-digit account id",
        ),
        (
            json!([entry(json!({"tags": {"team": 7}}))]),
            "suppressions[0] (id \"legacy\").tags.team: must be a non-empty string",
        ),
        (
            json!([entry(json!({"keys": []}))]),
            "suppressions[0] (id \"legacy\").keys: must be a non-empty list of strings",
        ),
        (
            json!([entry(json!({"keys": ["a"]})), entry(json!({"keys": ["b"]}))]),
            "suppressions[1] (id \"legacy\").id: is used by an earlier entry",
        ),
    ];
    for (entries, expected) in cases {
        let got = error(entries);
        assert!(got.starts_with(expected), "{got}\n  expected {expected}");
    }
    let not_a_list = parse("{\"suppressions\": {}}", TODAY).expect_err("malformed");
    assert!(not_a_list.to_string().contains("\"suppressions\" list"));
    let not_json = parse("suppressions:", TODAY).expect_err("malformed");
    assert!(
        not_json
            .to_string()
            .starts_with("the suppression list is not JSON")
    );
}
