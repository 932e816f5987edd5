//! The grant calls of [`KeyStore`]: list a key's grants, create one from its spec.

use super::KeyStore;
use crate::grants::{Constraint, GrantSpec, LiveGrant};
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use shared::ResourceError;

impl KeyStore {
    pub async fn grants(&self, key_id: &str) -> Result<Vec<LiveGrant>, ResourceError> {
        let entries =
            shared::kms_items!(self.kms.list_grants().key_id(key_id), "ListGrants", key_id)
                .map_err(|e| e.for_resource(self.resource_type))?;
        Ok(entries
            .into_iter()
            .filter_map(|g| {
                let mut operations: Vec<String> = g
                    .operations()
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect();
                operations.sort();
                let constraint = match g.constraints() {
                    Some(c) if c.encryption_context_equals().is_some() => Constraint::Equals(
                        c.encryption_context_equals()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    Some(c) if c.encryption_context_subset().is_some() => Constraint::Subset(
                        c.encryption_context_subset()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    _ => Constraint::None,
                };
                Some(LiveGrant {
                    id: g.grant_id?,
                    spec: GrantSpec {
                        name: g.name?,
                        grantee: g.grantee_principal?,
                        operations,
                        retiring: g.retiring_principal,
                        constraint,
                    },
                })
            })
            .collect())
    }

    pub async fn create_grant(&self, key_id: &str, grant: &GrantSpec) -> Result<(), ResourceError> {
        let constraints = match &grant.constraint {
            Constraint::None => None,
            Constraint::Subset(pairs) => Some(
                GrantConstraints::builder()
                    .set_encryption_context_subset(Some(pairs.clone().into_iter().collect()))
                    .build(),
            ),
            Constraint::Equals(pairs) => Some(
                GrantConstraints::builder()
                    .set_encryption_context_equals(Some(pairs.clone().into_iter().collect()))
                    .build(),
            ),
        };
        self.kms
            .create_grant()
            .key_id(key_id)
            .name(&grant.name)
            .grantee_principal(&grant.grantee)
            .set_retiring_principal(grant.retiring.clone())
            .set_operations(Some(
                grant
                    .operations
                    .iter()
                    .map(|o| GrantOperation::from(o.as_str()))
                    .collect(),
            ))
            .set_constraints(constraints)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("CreateGrant", &format!("{key_id} grant {}", grant.name), &e))
    }

    pub async fn revoke_grant(&self, key_id: &str, grant_id: &str) -> Result<(), ResourceError> {
        self.kms
            .revoke_grant()
            .key_id(key_id)
            .grant_id(grant_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("RevokeGrant", &format!("{key_id} grant {grant_id}"), &e))
    }
}
