//! Which key specs, key usages and grant operations KMS accepts together. Checked before any
//! call, because the emulator accepts pairs that KMS rejects.

/// Every key spec KMS offers. SM2 exists only in the China Regions.
pub const KEY_SPECS: [&str; 20] = [
    "SYMMETRIC_DEFAULT",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519",
    "ML_DSA_44",
    "ML_DSA_65",
    "ML_DSA_87",
    "ML_KEM_512",
    "ML_KEM_768",
    "ML_KEM_1024",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

pub const KEY_USAGES: [&str; 5] = [
    "ENCRYPT_DECRYPT",
    "SIGN_VERIFY",
    "GENERATE_VERIFY_MAC",
    "KEY_AGREEMENT",
    "ENCAPSULATE_DECAPSULATE",
];

/// Grant operations that any key allows.
const MANAGEMENT_OPERATIONS: [&str; 3] = ["CreateGrant", "RetireGrant", "DescribeKey"];

pub const GRANT_OPERATIONS: [&str; 19] = [
    "CreateGrant",
    "Decapsulate",
    "Decrypt",
    "DeriveSharedSecret",
    "DescribeKey",
    "Encapsulate",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GetPublicKey",
    "ReEncryptFrom",
    "ReEncryptTo",
    "RetireGrant",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// The usages KMS allows for `spec`, the first being the one used when `KeyUsage` is absent.
pub fn usages_for(spec: &str) -> &'static [&'static str] {
    if !KEY_SPECS.contains(&spec) {
        return &[];
    }
    match spec {
        "SYMMETRIC_DEFAULT" => &["ENCRYPT_DECRYPT"],
        s if s.starts_with("RSA_") => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
        "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" => &["SIGN_VERIFY", "KEY_AGREEMENT"],
        "ECC_SECG_P256K1" | "ECC_NIST_EDWARDS25519" => &["SIGN_VERIFY"],
        s if s.starts_with("ML_DSA_") => &["SIGN_VERIFY"],
        s if s.starts_with("ML_KEM_") => &["ENCAPSULATE_DECAPSULATE"],
        s if s.starts_with("HMAC_") => &["GENERATE_VERIFY_MAC"],
        "SM2" => &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"],
        _ => &[],
    }
}

pub fn is_symmetric(spec: &str) -> bool {
    spec == "SYMMETRIC_DEFAULT"
}

/// Automatic rotation exists only for symmetric encryption keys.
pub fn can_rotate(spec: &str) -> bool {
    is_symmetric(spec)
}

/// The cryptographic operations a grant may allow on a key of this spec and usage.
pub fn grant_operations_for(spec: &str, usage: &str) -> Vec<&'static str> {
    let crypto: &[&str] = match usage {
        "ENCRYPT_DECRYPT" if is_symmetric(spec) => &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        ],
        "ENCRYPT_DECRYPT" => &[
            "Decrypt",
            "Encrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GetPublicKey",
        ],
        "SIGN_VERIFY" => &["Sign", "Verify", "GetPublicKey"],
        "GENERATE_VERIFY_MAC" => &["GenerateMac", "VerifyMac"],
        "KEY_AGREEMENT" => &["DeriveSharedSecret", "GetPublicKey"],
        "ENCAPSULATE_DECAPSULATE" => &["Decapsulate", "GetPublicKey"],
        _ => &[],
    };
    let mut allowed: Vec<&'static str> = crypto.to_vec();
    allowed.extend(MANAGEMENT_OPERATIONS);
    allowed.sort_unstable();
    allowed
}

/// The key-policy actions a key user needs for this usage.
pub fn user_actions_for(spec: &str, usage: &str) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = match usage {
        "ENCRYPT_DECRYPT" if is_symmetric(spec) => vec![
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
        ],
        "ENCRYPT_DECRYPT" => vec![
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GetPublicKey",
        ],
        "SIGN_VERIFY" => vec!["kms:Sign", "kms:Verify", "kms:GetPublicKey"],
        "GENERATE_VERIFY_MAC" => vec!["kms:GenerateMac", "kms:VerifyMac"],
        "KEY_AGREEMENT" => vec!["kms:DeriveSharedSecret", "kms:GetPublicKey"],
        "ENCAPSULATE_DECAPSULATE" => vec!["kms:Decapsulate", "kms:GetPublicKey"],
        _ => Vec::new(),
    };
    actions.push("kms:DescribeKey");
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_has_a_usage_and_every_usage_a_spec() {
        for spec in KEY_SPECS {
            assert!(!usages_for(spec).is_empty(), "{spec}");
        }
        for usage in KEY_USAGES {
            assert!(
                KEY_SPECS.iter().any(|s| usages_for(s).contains(&usage)),
                "{usage}"
            );
        }
        assert!(usages_for("RSA_1024").is_empty());
    }

    #[test]
    fn pairs_match_kms() {
        assert_eq!(usages_for("SYMMETRIC_DEFAULT"), ["ENCRYPT_DECRYPT"]);
        assert_eq!(usages_for("HMAC_256"), ["GENERATE_VERIFY_MAC"]);
        assert!(!usages_for("ECC_SECG_P256K1").contains(&"KEY_AGREEMENT"));
        assert!(usages_for("ECC_NIST_P384").contains(&"KEY_AGREEMENT"));
        assert!(!usages_for("RSA_2048").contains(&"KEY_AGREEMENT"));
        assert_eq!(usages_for("ECC_NIST_P256")[0], "SIGN_VERIFY");
    }

    #[test]
    fn only_symmetric_keys_rotate() {
        let rotating: Vec<&str> = KEY_SPECS.into_iter().filter(|s| can_rotate(s)).collect();
        assert_eq!(rotating, ["SYMMETRIC_DEFAULT"]);
    }

    #[test]
    fn grant_operations_follow_the_usage() {
        let mac = grant_operations_for("HMAC_256", "GENERATE_VERIFY_MAC");
        assert!(mac.contains(&"GenerateMac") && !mac.contains(&"Encrypt"));
        let rsa = grant_operations_for("RSA_2048", "ENCRYPT_DECRYPT");
        assert!(rsa.contains(&"Encrypt") && !rsa.contains(&"GenerateDataKey"));
        for ops in [mac, rsa] {
            assert!(ops.iter().all(|op| GRANT_OPERATIONS.contains(op)));
        }
    }
}
