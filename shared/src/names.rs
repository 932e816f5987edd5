//! Name rules several resource types share: KMS key ARNs and log group names.

/// `arn:<partition>:kms:<region>:<account>:key/<id>`: a key ARN, not an alias.
pub fn is_kms_key_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "kms", region, account, resource]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && resource.strip_prefix("key/").is_some_and(|id| !id.is_empty()))
}

/// The rule text that goes with [`is_kms_key_arn`].
pub const KMS_KEY_ARN_RULE: &str =
    "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)";

/// CloudWatch Logs group names: 1 to 512 characters of a-z, A-Z, 0-9, '.', '-', '_', '/', '#'.
pub fn is_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
}

pub const LOG_GROUP_NAME_RULE: &str =
    "must be 1 to 512 characters of a-z, A-Z, 0-9, '.', '-', '_', '/' and '#'";
