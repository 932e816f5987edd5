//! Reading KMS key policies: which Allow statements are open to everyone. Written once, so the
//! provider refuses exactly what the auditor would report.

use serde_json::Value;

#[path = "key_policy_spelling.rs"]
mod spelling;
pub use spelling::{canonical_policy, same_policy};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
