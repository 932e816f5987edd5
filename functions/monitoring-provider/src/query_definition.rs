//! `Custom::QueryDefinition`: a saved Logs Insights query; physical id the QueryDefinitionId.
//! Definitions take no tags and names need not be unique: each Create makes its own, recorded
//! in the owner ledger ([`crate::owners`]), and a repeated delivery of a Create finds its
//! earlier result there. Update and Delete touch only a definition the ledger gives to the
//! request's logical resource.

use crate::owners::{Kind, Ledger};
use aws_sdk_cloudwatchlogs::Client;
use shared::cfn::{Claim, CustomResource, Outcome, Request};
use shared::props::{LOG_GROUP_NAME_RULE, is_log_group_name, show};
use shared::{Environment, Problem, PropertyError, Props, ResourceError};

pub const TYPE: &str = "Custom::QueryDefinition";
pub const ATTRIBUTES: [&str; 2] = ["QueryDefinitionId", "Name"];
const MAX_QUERY: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryProps {
    pub environment: Environment,
    pub name: String,
    pub query: String,
    pub log_group_names: Vec<String>,
}

pub fn decode(props: &mut Props) -> Result<QueryProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let name = props.required_valid_string("Name", "must be 1 to 255 characters", |n| {
        n.chars().count() <= 255
    })?;
    let query = props.required_string("QueryString")?;
    if query.len() > MAX_QUERY {
        return Err(props.error(
            "QueryString",
            Problem::Invalid {
                rule: format!("must be at most {MAX_QUERY} characters"),
                got: format!("{} characters", query.len()),
            },
        ));
    }
    let mut log_group_names = props
        .optional_string_list("LogGroupNames")?
        .unwrap_or_default();
    if let Some(bad) = log_group_names.iter().find(|g| !is_log_group_name(g)) {
        return Err(props.error(
            "LogGroupNames",
            Problem::Invalid {
                rule: LOG_GROUP_NAME_RULE.to_owned(),
                got: show(&serde_json::Value::String(bad.clone())),
            },
        ));
    }
    log_group_names.sort();
    log_group_names.dedup();
    Ok(QueryProps {
        environment,
        name,
        query,
        log_group_names,
    })
}

pub struct QueryDefinitions {
    pub logs: Client,
    pub ledger: Ledger,
}

fn outcome(id: &str, props: &QueryProps) -> Outcome {
    let [id_attr, name] = ATTRIBUTES;
    Outcome::new(id).with(id_attr, id).with(name, &props.name)
}

impl QueryDefinitions {
    /// Definitions with this exact name: `(id, query, sorted log groups)`.
    async fn named(&self, name: &str) -> Result<Vec<(String, String, Vec<String>)>, ResourceError> {
        let out = self
            .logs
            .describe_query_definitions()
            .query_definition_name_prefix(name)
            .max_results(1000)
            .send()
            .await
            .map_err(|e| ResourceError::aws(TYPE, "DescribeQueryDefinitions", name, &e))?;
        Ok(out
            .query_definitions()
            .iter()
            .filter(|d| d.name() == Some(name))
            .filter_map(|d| {
                let mut groups = d.log_group_names().to_vec();
                groups.sort();
                Some((
                    d.query_definition_id()?.to_owned(),
                    d.query_string().unwrap_or_default().to_owned(),
                    groups,
                ))
            })
            .collect())
    }

    /// The definition `id` among those named `name`: `(query, sorted log groups)`.
    async fn by_id(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Option<(String, Vec<String>)>, ResourceError> {
        Ok(self
            .named(name)
            .await?
            .into_iter()
            .find(|(live_id, _, _)| live_id == id)
            .map(|(_, query, groups)| (query, groups)))
    }

    async fn put(&self, id: Option<&str>, props: &QueryProps) -> Result<String, ResourceError> {
        let out = self
            .logs
            .put_query_definition()
            .name(&props.name)
            .query_string(&props.query)
            .set_log_group_names(Some(props.log_group_names.clone()))
            .set_query_definition_id(id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| ResourceError::aws(TYPE, "PutQueryDefinition", &props.name, &e))?;
        out.query_definition_id.ok_or_else(|| {
            ResourceError::refused(
                TYPE,
                format!("PutQueryDefinition for {} returned no id", props.name),
            )
        })
    }
}

impl CustomResource for QueryDefinitions {
    const RESOURCE_TYPE: &'static str = TYPE;
    type Properties = QueryProps;

    fn decode(props: &mut Props) -> Result<QueryProps, PropertyError> {
        decode(props)
    }

    async fn create(
        &self,
        request: &Request,
        props: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        for (id, _, _) in self.named(&props.name).await? {
            let claim = self
                .ledger
                .claim_of(request, Kind::QueryDefinition, &id)
                .await?;
            if matches!(claim, Claim::ThisRequest(_)) {
                tracing::info!(id, "an earlier delivery of this request made it; using it");
                self.put(Some(&id), props).await?;
                return Ok(outcome(&id, props));
            }
        }
        let id = self.put(None, props).await?;
        let what = format!("QueryDefinitionId {id}");
        self.ledger
            .claim(
                request,
                props.environment,
                Kind::QueryDefinition,
                &id,
                &what,
            )
            .await?;
        Ok(outcome(&id, props))
    }

    /// Updated in place under the same id when the ledger gives it to this logical resource
    /// (or it is unrecorded and exactly what the old properties wrote: made before the
    /// ledger); a definition deleted outside CloudFormation is made again, with a new id.
    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&QueryProps>,
        new: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        let what = format!("QueryDefinitionId {physical_id}");
        let kind = Kind::QueryDefinition;
        if !self.ledger.is_ours(request, kind, physical_id).await? {
            let live = self
                .by_id(old.map_or(&new.name, |o| &o.name), physical_id)
                .await?;
            let Some(live) = live else {
                tracing::warn!(
                    physical_id,
                    "deleted outside CloudFormation; creating it again"
                );
                return self.create(request, new).await;
            };
            let made_before_ledger =
                old.is_some_and(|o| live.0 == o.query && live.1 == o.log_group_names);
            self.ledger
                .hold_existing(
                    request,
                    new.environment,
                    kind,
                    physical_id,
                    &what,
                    made_before_ledger,
                )
                .await?;
        }
        match self.put(Some(physical_id), new).await {
            Ok(id) => Ok(outcome(&id, new)),
            Err(ResourceError::Aws { detail, .. })
                if detail.starts_with("ResourceNotFoundException") =>
            {
                tracing::warn!(
                    physical_id,
                    "deleted outside CloudFormation; creating it again"
                );
                self.ledger
                    .release(request, Kind::QueryDefinition, physical_id)
                    .await?;
                self.create(request, new).await
            }
            Err(err) => Err(err),
        }
    }

    /// Only a definition the ledger gives to this logical resource; any other is left.
    async fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        _props: &QueryProps,
    ) -> Result<(), ResourceError> {
        let claim = self
            .ledger
            .claim_of(request, Kind::QueryDefinition, physical_id)
            .await?;
        if !claim.is_ours() {
            claim.log_left_alone(TYPE, physical_id);
            return Ok(());
        }
        let deleted = shared::error::deleted(
            self.logs
                .delete_query_definition()
                .query_definition_id(physical_id)
                .send()
                .await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            },
            TYPE,
            "DeleteQueryDefinition",
            physical_id,
        );
        deleted?;
        self.ledger
            .release(request, Kind::QueryDefinition, physical_id)
            .await
    }
}
