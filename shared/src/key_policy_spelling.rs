//! Comparing key policies as IAM reads them, not as text: what KMS hands back is what it was
//! given, so a policy written in another order or spelling must not read as a change.

use serde_json::Value;

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
}
