//! The owner ledger of the resources AWS cannot tag (dashboards, metric filters, Logs Insights
//! query definitions): one SSM parameter per resource, `/stackhand/owners/<kind>/<sha256>`,
//! whose value is the owner record and whose tags repeat it for IAM. Why SSM: see
//! docs/architecture.md, "Ownership".
//!
//! A claim is `PutParameter` without overwrite, so of two stacks that create the same name at
//! once exactly one wins. The record is read back in the tag form of [`Owner`], so the one
//! ownership rule ([`Claim`]) judges tagged and untaggable resources alike.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterType, Tag};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use shared::cfn::{Claim, Owner, Request};
use shared::{Environment, ResourceError};
use std::collections::BTreeMap;

/// Where every record lives; the provider's role may write only below it.
pub const LEDGER_PATH: &str = "/stackhand/owners";

/// The kind of resource a record is for: part of the parameter name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dashboard,
    MetricFilter,
    QueryDefinition,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Dashboard => "dashboard",
            Kind::MetricFilter => "metric-filter",
            Kind::QueryDefinition => "query-definition",
        }
    }
}

/// The parameter that holds the record of `identity` (a dashboard name, `group|filter`, a
/// query definition id): hashed, since names may hold characters and lengths SSM refuses.
pub fn parameter_name(kind: Kind, identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{LEDGER_PATH}/{}/{hex}", kind.path())
}

#[derive(Clone)]
pub struct Ledger {
    ssm: Client,
    /// The type errors are reported under.
    resource_type: &'static str,
}

impl Ledger {
    pub fn new(ssm: Client, resource_type: &'static str) -> Self {
        Ledger { ssm, resource_type }
    }

    /// The same ledger, reporting errors under another type (the baseline's parts).
    pub fn for_type(&self, resource_type: &'static str) -> Self {
        Ledger {
            ssm: self.ssm.clone(),
            resource_type,
        }
    }

    /// The record of `identity` in tag form; empty when there is none.
    pub async fn owner_tags(
        &self,
        kind: Kind,
        identity: &str,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        let name = parameter_name(kind, identity);
        let value = match self.ssm.get_parameter().name(&name).send().await {
            Ok(out) => out.parameter.and_then(|p| p.value).unwrap_or_default(),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                return Ok(BTreeMap::new());
            }
            Err(err) => {
                return Err(ResourceError::aws(
                    self.resource_type,
                    "GetParameter",
                    identity,
                    &err,
                ));
            }
        };
        Ok(decode_record(&value, identity))
    }

    /// Records `request` as the owner of `identity`. An existing record of this stack's
    /// logical resource is kept; anyone else's fails the request, naming its owner.
    pub async fn claim(
        &self,
        request: &Request,
        environment: Environment,
        kind: Kind,
        identity: &str,
        what: &str,
    ) -> Result<(), ResourceError> {
        let owner = Owner::of(request, environment);
        let name = parameter_name(kind, identity);
        let tags: Vec<Tag> = owner
            .tags()
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let put = self
            .ssm
            .put_parameter()
            .name(&name)
            .description(format!(
                "stackhand owner record of {} {identity}",
                self.resource_type
            ))
            .r#type(ParameterType::String)
            .value(encode_record(&owner, identity))
            .set_tags(Some(tags))
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_already_exists()) =>
            {
                let claim = Claim::of(&self.owner_tags(kind, identity).await?, request);
                if claim.is_ours() {
                    return Ok(());
                }
                Err(claim.refusal(self.resource_type, what, "adopt"))
            }
            Err(err) => Err(ResourceError::aws(
                self.resource_type,
                "PutParameter",
                identity,
                &err,
            )),
        }
    }

    /// What `request` may do with `identity`, by its record.
    pub async fn claim_of(
        &self,
        request: &Request,
        kind: Kind,
        identity: &str,
    ) -> Result<Claim, ResourceError> {
        Ok(Claim::of(&self.owner_tags(kind, identity).await?, request))
    }

    /// Whether `request`'s stack and logical resource own `identity`.
    pub async fn is_ours(
        &self,
        request: &Request,
        kind: Kind,
        identity: &str,
    ) -> Result<bool, ResourceError> {
        Ok(self.claim_of(request, kind, identity).await?.is_ours())
    }

    /// Before changing an existing `identity`: passes when its record is `request`'s logical
    /// resource's, or when it has none and `made_before_ledger` (it is exactly what this
    /// resource wrote before the ledger existed), which records it now. Anyone else's fails
    /// the request, naming its owner.
    pub async fn hold_existing(
        &self,
        request: &Request,
        environment: Environment,
        kind: Kind,
        identity: &str,
        what: &str,
        made_before_ledger: bool,
    ) -> Result<(), ResourceError> {
        let claim = self.claim_of(request, kind, identity).await?;
        if claim == Claim::Unrecorded && made_before_ledger {
            tracing::info!(
                resource = what,
                "made before the ledger; recording this stack as its owner"
            );
            return self.claim(request, environment, kind, identity, what).await;
        }
        if !claim.is_ours() {
            return Err(claim.refusal(self.resource_type, what, "change"));
        }
        Ok(())
    }

    /// Drops the record of `identity` when it is `request`'s; anyone else's stays.
    pub async fn release(
        &self,
        request: &Request,
        kind: Kind,
        identity: &str,
    ) -> Result<(), ResourceError> {
        if !self.is_ours(request, kind, identity).await? {
            return Ok(());
        }
        shared::error::deleted(
            self.ssm
                .delete_parameter()
                .name(parameter_name(kind, identity))
                .send()
                .await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found())
            },
            self.resource_type,
            "DeleteParameter",
            identity,
        )
    }
}

/// The parameter's value: the resource it is for and the owner record.
fn encode_record(owner: &Owner, identity: &str) -> String {
    let mut record = Map::new();
    record.insert("Resource".to_owned(), Value::String(identity.to_owned()));
    for (key, value) in owner.tags() {
        record.insert(key, Value::String(value));
    }
    Value::Object(record).to_string()
}

/// The record in tag form; empty for anything else (another resource's record under a
/// colliding hash, or a value a person wrote).
fn decode_record(value: &str, identity: &str) -> BTreeMap<String, String> {
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(value) else {
        return BTreeMap::new();
    };
    if record.get("Resource").and_then(Value::as_str) != Some(identity) {
        return BTreeMap::new();
    }
    record
        .into_iter()
        .filter(|(k, _)| k.starts_with(shared::cfn::TAG_PREFIX))
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_short_and_of_the_characters_ssm_takes() {
        let long = format!("/{}|{}", "g".repeat(511), "f#:*".repeat(128));
        for identity in ["api-overview", long.as_str(), "a b/c#d"] {
            let name = parameter_name(Kind::MetricFilter, identity);
            assert_eq!(name, parameter_name(Kind::MetricFilter, identity));
            assert!(name.len() < 120, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c)),
                "{name}"
            );
        }
        assert_ne!(
            parameter_name(Kind::Dashboard, "x"),
            parameter_name(Kind::QueryDefinition, "x")
        );
    }

    #[test]
    fn a_record_is_read_only_for_its_own_resource() {
        let owner = Owner {
            stack_id: "arn:aws:cloudformation:us-east-1:1:stack/s/g".to_owned(),
            logical_id: "Board".to_owned(),
            request_id: Some("r-1".to_owned()),
            environment: Some(Environment::Prod),
            made_at: Some(1),
        };
        let value = encode_record(&owner, "api-overview");
        let tags = decode_record(&value, "api-overview");
        assert_eq!(Owner::from_tags(&tags), Some(owner));
        assert!(decode_record(&value, "api-services").is_empty());
        assert!(decode_record("hand-written", "api-overview").is_empty());
    }
}
