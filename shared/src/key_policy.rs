//! Reading KMS key policies: which Allow statements are open to everyone. Written once, so the
//! provider refuses exactly what the auditor would report.

use serde_json::Value;

/// Condition keys that tie a statement to an account, organization, principal, source or
/// calling service. Compared case-insensitively, as IAM does.
pub const RESTRICTING_CONDITION_KEYS: [&str; 13] = [
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
    "kms:ViaService",
];

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

/// True when a condition narrows the statement: a positive operator (not `…Not…`, not
/// `…IfExists`) on a restricting key, with at least one value that is not a bare wildcard.
pub fn has_restricting_condition(statement: &Value) -> bool {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let positive = !operator.contains("Not") && !operator.ends_with("IfExists");
        let Value::Object(keys) = keys else {
            return false;
        };
        positive
            && keys.iter().any(|(key, values)| {
                RESTRICTING_CONDITION_KEYS
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(key))
                    && strings(values).iter().any(|v| !v.is_empty() && *v != "*")
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
            let condition = json!({"StringEquals": {key.to_lowercase(): "111122223333"}});
            assert!(
                public_statements(&allow(json!("*"), Some(condition))).is_empty(),
                "{key}"
            );
        }
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
        ] {
            assert_eq!(
                public_statements(&allow(json!("*"), Some(condition.clone()))),
                [0],
                "{condition}"
            );
        }
    }
}
