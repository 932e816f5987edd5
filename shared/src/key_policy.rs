//! Reading KMS key policies: which Allow statements are open to everyone. Written once, so the
//! provider refuses exactly what the auditor would report.

use serde_json::Value;

/// What a restricting condition key pins a statement to, as IAM Access Analyzer reads it.
#[derive(Clone, Copy)]
enum Pins {
    /// A 12-digit account id, no wildcard.
    Account,
    /// An ARN whose account field is a 12-digit account, no wildcard there.
    ArnInAccount,
    /// An organization id (`o-…`), or an org path that starts with one.
    Organization,
    /// A VPC or VPC endpoint id.
    Network,
}

/// Condition keys that tie a statement to an account, organization, principal, source or network.
/// Compared case-insensitively, as IAM does. `kms:ViaService` is not one: alone it still admits
/// every account that uses that service.
pub const RESTRICTING_CONDITION_KEYS: [&str; 12] = [
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOwner",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "kms:CallerAccount",
];

fn pins(key: &str) -> Option<Pins> {
    let key = key.to_ascii_lowercase();
    Some(match key.as_str() {
        "aws:sourceaccount" | "aws:sourceowner" | "aws:principalaccount" | "kms:calleraccount" => {
            Pins::Account
        }
        "aws:sourcearn" | "aws:principalarn" => Pins::ArnInAccount,
        "aws:sourceorgid"
        | "aws:sourceorgpaths"
        | "aws:principalorgid"
        | "aws:principalorgpaths" => Pins::Organization,
        "aws:sourcevpc" | "aws:sourcevpce" => Pins::Network,
        _ => return None,
    })
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn has_wildcard(text: &str) -> bool {
    text.contains('*') || text.contains('?')
}

/// Whether one condition value narrows the statement to one account, organization or network.
fn value_restricts(pinned: Pins, value: &str) -> bool {
    match pinned {
        Pins::Account => is_account(value),
        // arn:<partition>:<service>:<region>:<account>:<resource>
        Pins::ArnInAccount => value
            .split(':')
            .nth(4)
            .is_some_and(|account| value.starts_with("arn:") && is_account(account)),
        Pins::Organization => value
            .split('/')
            .next()
            .is_some_and(|org| org.starts_with("o-") && org.len() > 2 && !has_wildcard(org)),
        Pins::Network => !value.is_empty() && !has_wildcard(value),
    }
}

/// The statements of a policy document: `Statement` may be one object or a list.
pub fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_everyone(principal: &str) -> bool {
    principal == "*" || {
        // arn:<partition>:iam::*:root
        let parts: Vec<&str> = principal.split(':').collect();
        matches!(parts.as_slice(), ["arn", _, "iam", "", "*", "root"])
    }
}

/// The principals a statement names, whatever the form: `"*"`, `{"AWS": ..}`, `{"Service": ..}`.
pub fn principals(statement: &Value) -> Vec<&str> {
    match statement.get("Principal") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Object(kinds)) => kinds.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn is_allow(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
}

/// True when a condition narrows the statement, by the rules IAM Access Analyzer applies to
/// public access: a positive matching operator (`StringEquals`, `StringLike`, `ArnEquals`,
/// `ArnLike` and their `ForAnyValue:` forms; not `Null`, not `…Not…`, not `…IfExists`, not
/// `ForAllValues:`, which an empty request satisfies) on a restricting key, every value of which
/// pins one account, organization or network (`arn:aws:iam::*:role/*` pins nothing).
pub fn has_restricting_condition(statement: &Value) -> bool {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let lower = operator.to_ascii_lowercase();
        let base = lower.strip_prefix("foranyvalue:").unwrap_or(&lower);
        let matching = matches!(
            base,
            "stringequals" | "stringequalsignorecase" | "stringlike" | "arnequals" | "arnlike"
        );
        let Value::Object(keys) = keys else {
            return false;
        };
        matching
            && keys.iter().any(|(key, values)| {
                let values = strings(values);
                pins(key).is_some_and(|pinned| {
                    !values.is_empty() && values.iter().all(|v| value_restricts(pinned, v))
                })
            })
    })
}

/// Whether an Allow statement reaches everyone: a public principal, or `NotPrincipal`.
pub fn is_open_to_everyone(statement: &Value) -> bool {
    is_allow(statement)
        && (statement.get("NotPrincipal").is_some()
            || principals(statement).into_iter().any(is_everyone))
}

/// Indexes of the Allow statements open to everyone with no restricting condition.
pub fn public_statements(policy: &Value) -> Vec<usize> {
    statements(policy)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| is_open_to_everyone(s) && !has_restricting_condition(s))
        .map(|(index, _)| index)
        .collect()
}

/// Whether two policy documents say the same: statement order, key order, whitespace, a
/// single value or a list of one, the order of values in a list, and a bare account id for its
/// root ARN are not differences (IAM reads them alike; KMS hands back what it was given).
pub fn same_policy(a: &Value, b: &Value) -> bool {
    canonical_policy(a) == canonical_policy(b)
}

/// The policy in one spelling; see [`same_policy`].
pub fn canonical_policy(policy: &Value) -> Value {
    key_sorted(&respelled(policy))
}

/// `value` with every object's keys in sorted order: its text is then the same whatever order
/// the keys came in, with or without serde_json's `preserve_order` (which a dependency turns on).
fn key_sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), key_sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(key_sorted).collect()),
        other => other.clone(),
    }
}

/// The text a list is sorted by: the same for the same value, whatever its key order.
fn sort_text(value: &Value) -> String {
    key_sorted(value).to_string()
}

fn respelled(policy: &Value) -> Value {
    let Some(map) = policy.as_object() else {
        return policy.clone();
    };
    let mut out = map.clone();
    if let Some(statements) = map.get("Statement") {
        let mut canonical: Vec<Value> = as_list(statements)
            .iter()
            .map(canonical_statement)
            .collect();
        canonical.sort_by_key(sort_text);
        out.insert("Statement".to_owned(), Value::Array(canonical));
    }
    Value::Object(out)
}

fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// A list, sorted and without repeats, for a field whose values IAM reads as a set.
fn value_set(value: &Value, each: impl Fn(&Value) -> Value) -> Value {
    let mut items: Vec<Value> = as_list(value).iter().map(each).collect();
    items.sort_by_key(sort_text);
    items.dedup();
    Value::Array(items)
}

fn aws_principal(value: &Value) -> Value {
    match value.as_str() {
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => {
            Value::String(format!("arn:aws:iam::{id}:root"))
        }
        _ => value.clone(),
    }
}

fn canonical_statement(statement: &Value) -> Value {
    let Some(map) = statement.as_object() else {
        return statement.clone();
    };
    let mut out = map.clone();
    for field in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(value) = map.get(field) {
            out.insert(field.to_owned(), value_set(value, Value::clone));
        }
    }
    for field in ["Principal", "NotPrincipal"] {
        if let Some(Value::Object(principals)) = map.get(field) {
            let canonical = principals
                .iter()
                .map(|(kind, ids)| match kind.as_str() {
                    "AWS" => (kind.clone(), value_set(ids, aws_principal)),
                    _ => (kind.clone(), value_set(ids, Value::clone)),
                })
                .collect();
            out.insert(field.to_owned(), Value::Object(canonical));
        }
    }
    if let Some(Value::Object(operators)) = map.get("Condition") {
        let canonical = operators
            .iter()
            .map(|(operator, keys)| {
                let keys = match keys {
                    Value::Object(keys) => Value::Object(
                        keys.iter()
                            .map(|(key, values)| (key.clone(), value_set(values, Value::clone)))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (operator.clone(), keys)
            })
            .collect();
        out.insert("Condition".to_owned(), Value::Object(canonical));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_policy_spelled_differently_is_the_same_policy() {
        let written = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:role/b", "111122223333"]},
             "Action": ["kms:Update*", "kms:Create*"], "Resource": "*"},
            {"Sid": "Users", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/app"},
             "Action": "kms:Decrypt", "Resource": ["*"],
             "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com"]}}}
        ]});
        let respelled = json!({"Statement": [
            {"Resource": "*", "Action": ["kms:Decrypt"], "Effect": "Allow", "Sid": "Users",
             "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app"]},
             "Condition": {"StringEquals": {"kms:ViaService": ["sqs.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]}}},
            {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/b"]},
             "Action": ["kms:Create*", "kms:Update*"], "Resource": "*"}
        ], "Version": "2012-10-17"});
        assert!(same_policy(&written, &respelled));
    }

    #[test]
    fn a_changed_action_principal_or_effect_is_a_different_policy() {
        let base = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]});
        for changed in [
            json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": ["kms:*", "kms:Decrypt"], "Resource": "*"}]}),
            json!({"Statement": []}),
        ] {
            assert!(!same_policy(&base, &changed), "{changed}");
        }
    }

    fn allow(principal: Value, condition: Option<Value>) -> Value {
        let mut statement = json!({"Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"});
        if let Some(condition) = condition {
            statement["Condition"] = condition;
        }
        json!({"Version": "2012-10-17", "Statement": [statement]})
    }

    #[test]
    fn every_public_form_is_found() {
        for principal in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": ["arn:aws:iam::111122223333:root", "*"]}),
            json!({"AWS": "arn:aws:iam::*:root"}),
        ] {
            assert_eq!(
                public_statements(&allow(principal.clone(), None)),
                [0],
                "{principal}"
            );
        }
        let not_principal = json!({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*"}});
        assert_eq!(public_statements(&not_principal), [0]);
    }

    #[test]
    fn named_principals_and_denies_are_not_public() {
        assert!(
            public_statements(&allow(
                json!({"AWS": "arn:aws:iam::111122223333:root"}),
                None
            ))
            .is_empty()
        );
        assert!(
            public_statements(&allow(
                json!({"Service": "logs.us-east-1.amazonaws.com"}),
                None
            ))
            .is_empty()
        );
        let deny = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kms:*"}]});
        assert!(public_statements(&deny).is_empty());
    }

    #[test]
    fn a_restricting_condition_closes_a_public_principal() {
        for key in RESTRICTING_CONDITION_KEYS {
            let value = match pins(key) {
                Some(Pins::Account) => "111122223333",
                Some(Pins::ArnInAccount) => "arn:aws:iam::111122223333:role/app",
                Some(Pins::Organization) => "o-a1b2c3d4e5",
                Some(Pins::Network) => "vpce-0123456789abcdef0",
                None => panic!("{key} is listed but pins nothing"),
            };
            let condition = json!({"StringEquals": {key.to_lowercase(): value}});
            assert!(
                public_statements(&allow(json!("*"), Some(condition))).is_empty(),
                "{key}"
            );
        }
        let role_pattern =
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-*"}});
        assert!(public_statements(&allow(json!("*"), Some(role_pattern))).is_empty());
        let via = json!({"StringEquals": {"kms:ViaService": ["ec2.us-east-1.amazonaws.com"], "kms:CallerAccount": "111122223333"}});
        assert!(public_statements(&allow(json!({"AWS": "*"}), Some(via))).is_empty());
    }

    #[test]
    fn conditions_that_do_not_restrict_leave_it_public() {
        for condition in [
            json!({"StringNotEquals": {"aws:SourceAccount": "111122223333"}}),
            json!({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}),
            json!({"StringLike": {"aws:PrincipalArn": "*"}}),
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            // The bypasses of the check before IAM Access Analyzer's rules:
            json!({"Null": {"aws:PrincipalArn": "false"}}),
            json!({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}),
            json!({"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}),
            json!({"StringEquals": {"aws:PrincipalAccount": ["111122223333", "*"]}}),
            json!({"StringLike": {"aws:PrincipalAccount": "1111222233*"}}),
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
            json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}}),
        ] {
            assert_eq!(
                public_statements(&allow(json!("*"), Some(condition.clone()))),
                [0],
                "{condition}"
            );
        }
    }
}
