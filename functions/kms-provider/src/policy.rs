//! Key policies: a user's full document, checked, or one synthesized from personas. A
//! synthesized policy always keeps the account root and never names a public principal.

use serde_json::{Value, json};
use shared::key_policy::public_statements;
use shared::{Problem, PropertyError, Props};

/// The largest key policy KMS accepts, in bytes.
pub const MAX_POLICY_BYTES: usize = 32_768;

/// The console's key-administrator actions: manage, never use.
const ADMIN_ACTIONS: [&str; 15] = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
];

/// Where the key lives, read from the stack's ARN: policies name this account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyContext {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl KeyContext {
    /// `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
    pub fn from_stack_id(stack_id: &str) -> Option<KeyContext> {
        let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", partition, "cloudformation", region, account, _]
                if !region.is_empty()
                    && account.len() == 12
                    && account.chars().all(|c| c.is_ascii_digit()) =>
            {
                Some(KeyContext {
                    partition: (*partition).to_owned(),
                    region: (*region).to_owned(),
                    account: (*account).to_owned(),
                })
            }
            _ => None,
        }
    }

    pub fn root(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }

    /// `rds` → `rds.<region>.amazonaws.com`; a full name stays as it is.
    pub fn via_service(&self, service: &str) -> String {
        if service.contains('.') {
            service.to_owned()
        } else {
            format!("{service}.{}.amazonaws.com", self.region)
        }
    }
}

/// Who may do what with the key, when no full `KeyPolicy` is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Personas {
    pub administrators: Vec<String>,
    pub users: Vec<String>,
    pub service_principals: Vec<String>,
    /// Services (`rds` or `rds.<region>.amazonaws.com`) through which users may use the key.
    pub via_services: Vec<String>,
    /// Statements a key set adds for its key's purpose; never decoded from properties.
    pub extra: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyPolicy {
    Document(Value),
    Personas(Personas),
}

/// An IAM principal ARN (`arn:aws:iam::<account>:role/x`, `:user/x`, `:root`, an STS
/// assumed role) or a 12-digit account id. No wildcards.
pub fn is_principal(text: &str) -> bool {
    if text.contains('*') || text.contains('?') {
        return false;
    }
    if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "iam" | "sts", "", account, resource]
            if partition.starts_with("aws")
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && !resource.is_empty())
}

pub const PRINCIPAL_RULE: &str = "must be IAM principal ARNs (arn:aws:iam::<account>:role/<name>, user/<name> or root) or account ids, without wildcards";

/// `logs.us-east-1.amazonaws.com`, `sns.amazonaws.com`.
pub fn is_service_principal(text: &str) -> bool {
    let host = text
        .strip_suffix(".amazonaws.com")
        .or_else(|| text.strip_suffix(".amazonaws.com.cn"));
    host.is_some_and(|h| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    })
}

pub const SERVICE_PRINCIPAL_RULE: &str =
    "must be AWS service principals such as sns.amazonaws.com or logs.<region>.amazonaws.com";

/// `rds`, or `rds.us-east-1.amazonaws.com`.
pub fn is_via_service(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && (!text.contains('.') || is_service_principal(text))
}

pub const VIA_SERVICE_RULE: &str =
    "must be service names such as rds or rds.<region>.amazonaws.com";

/// Decodes `KeyPolicy` or the personas; the two cannot be combined.
pub fn decode(props: &mut Props) -> Result<KeyPolicy, PropertyError> {
    let document = props.take("KeyPolicy");
    let personas = Personas {
        administrators: principal_list(props, "KeyAdministrators", is_principal, PRINCIPAL_RULE)?,
        users: principal_list(props, "KeyUsers", is_principal, PRINCIPAL_RULE)?,
        service_principals: principal_list(
            props,
            "ServicePrincipals",
            is_service_principal,
            SERVICE_PRINCIPAL_RULE,
        )?,
        via_services: principal_list(props, "ViaServices", is_via_service, VIA_SERVICE_RULE)?,
        extra: Vec::new(),
    };
    let Some(document) = document else {
        return Ok(KeyPolicy::Personas(personas));
    };
    let persona_names = [
        ("KeyAdministrators", &personas.administrators),
        ("KeyUsers", &personas.users),
        ("ServicePrincipals", &personas.service_principals),
        ("ViaServices", &personas.via_services),
    ];
    if let Some((other, _)) = persona_names.iter().find(|(_, list)| !list.is_empty()) {
        return Err(props.error(
            "KeyPolicy",
            Problem::Conflict {
                other: format!("{other} (give a full KeyPolicy, or personas to build one)"),
            },
        ));
    }
    check_document(props, document).map(KeyPolicy::Document)
}

/// `KeyAdministrators` or `KeyUsers`: IAM principals, never a wildcard.
pub fn principals(props: &mut Props, name: &'static str) -> Result<Vec<String>, PropertyError> {
    principal_list(props, name, is_principal, PRINCIPAL_RULE)
}

fn principal_list(
    props: &mut Props,
    name: &'static str,
    valid: fn(&str) -> bool,
    rule: &str,
) -> Result<Vec<String>, PropertyError> {
    let list = props.optional_string_list(name)?.unwrap_or_default();
    if let Some(bad) = list.iter().find(|p| !valid(p)) {
        return Err(props.error(
            name,
            Problem::Invalid {
                rule: rule.to_owned(),
                got: shared::props::show(&Value::String(bad.clone())),
            },
        ));
    }
    Ok(list)
}

/// A full policy: an object or its JSON text, with statements, within KMS's size limit, and
/// without a statement that lets everyone in.
fn check_document(props: &Props, document: Value) -> Result<Value, PropertyError> {
    const NAME: &str = "KeyPolicy";
    let invalid = |rule: &str, got: String| {
        props.error(
            NAME,
            Problem::Invalid {
                rule: rule.to_owned(),
                got,
            },
        )
    };
    let document = match document {
        Value::String(text) => serde_json::from_str(&text).map_err(|e| {
            invalid(
                "must be a JSON policy document",
                format!("text that does not parse ({e})"),
            )
        })?,
        other => other,
    };
    if !document.is_object() {
        return Err(invalid(
            "must be a JSON policy document (an object)",
            shared::props::show(&document),
        ));
    }
    if shared::key_policy::statements(&document).is_empty() {
        return Err(invalid(
            "must have a Statement (an object or a non-empty list)",
            "none".to_owned(),
        ));
    }
    let size = document.to_string().len();
    if size > MAX_POLICY_BYTES {
        return Err(invalid(
            &format!("must be at most {MAX_POLICY_BYTES} bytes"),
            format!("{size} bytes"),
        ));
    }
    if let Some(index) = public_statements(&document).first() {
        return Err(invalid(
            "must not allow everyone (Principal \"*\", {\"AWS\": \"*\"} or NotPrincipal) without a condition such as aws:SourceAccount, aws:PrincipalOrgID or kms:CallerAccount",
            format!("Statement[{index}]"),
        ));
    }
    Ok(document)
}

fn principal_arn(ctx: &KeyContext, principal: &str) -> String {
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        format!("arn:{}:iam::{principal}:root", ctx.partition)
    } else {
        principal.to_owned()
    }
}

/// The statement every synthesized policy starts with: the account root keeps full access, so
/// IAM policies keep working and the key can never be locked out.
pub fn root_statement(ctx: &KeyContext) -> Value {
    json!({
        "Sid": "AccountRootKeepsAccess",
        "Effect": "Allow",
        "Principal": {"AWS": ctx.root()},
        "Action": "kms:*",
        "Resource": "*"
    })
}

/// Builds the policy for the personas. `user_actions` follow the key's spec and usage.
pub fn synthesize(ctx: &KeyContext, personas: &Personas, user_actions: &[&str]) -> Value {
    let mut statements = vec![root_statement(ctx)];
    if !personas.administrators.is_empty() {
        let admins: Vec<String> = personas
            .administrators
            .iter()
            .map(|p| principal_arn(ctx, p))
            .collect();
        statements.push(json!({
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": admins},
            "Action": ADMIN_ACTIONS,
            "Resource": "*"
        }));
    }
    // ViaServices without named users: any principal of this account, through those services
    // only (the AWS-managed-key pattern, without its public principal).
    let users: Vec<String> = if personas.users.is_empty() && !personas.via_services.is_empty() {
        vec![ctx.root()]
    } else {
        personas
            .users
            .iter()
            .map(|p| principal_arn(ctx, p))
            .collect()
    };
    if !users.is_empty() {
        let mut use_key = json!({
            "Sid": "KeyUsers",
            "Effect": "Allow",
            "Principal": {"AWS": users},
            "Action": user_actions,
            "Resource": "*"
        });
        let mut grants = json!({
            "Sid": "KeyUsersGrantForAwsResources",
            "Effect": "Allow",
            "Principal": {"AWS": users},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        });
        if !personas.via_services.is_empty() {
            let via: Vec<String> = personas
                .via_services
                .iter()
                .map(|s| ctx.via_service(s))
                .collect();
            let condition = json!({"kms:ViaService": via, "kms:CallerAccount": ctx.account});
            use_key["Condition"] = json!({"StringEquals": condition});
            grants["Condition"]["StringEquals"] = condition;
        }
        statements.push(use_key);
        statements.push(grants);
    }
    if !personas.service_principals.is_empty() {
        statements.push(json!({
            "Sid": "ServicePrincipals",
            "Effect": "Allow",
            "Principal": {"Service": personas.service_principals},
            "Action": user_actions,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account}}
        }));
    }
    statements.extend(personas.extra.iter().cloned());
    json!({"Version": "2012-10-17", "Id": "stackhand-key-policy", "Statement": statements})
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
