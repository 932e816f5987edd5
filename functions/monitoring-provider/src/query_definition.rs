//! `Custom::QueryDefinition`: a saved Logs Insights query; physical id the QueryDefinitionId.
//! Definitions take no tags and names need not be unique, so a duplicate Create finds its
//! earlier result by name, query and log groups all matching.

use aws_sdk_cloudwatchlogs::Client;
use shared::cfn::{CustomResource, Outcome, Request};
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
        _request: &Request,
        props: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        let same = self
            .named(&props.name)
            .await?
            .into_iter()
            .find(|(_, query, groups)| *query == props.query && *groups == props.log_group_names);
        if let Some((id, _, _)) = same {
            tracing::info!(id, "the same definition exists; using it");
            return Ok(outcome(&id, props));
        }
        let id = self.put(None, props).await?;
        Ok(outcome(&id, props))
    }

    /// Updated in place under the same id; a definition deleted outside CloudFormation is made
    /// again, with a new id.
    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        _old: Option<&QueryProps>,
        new: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        match self.put(Some(physical_id), new).await {
            Ok(id) => Ok(outcome(&id, new)),
            Err(ResourceError::Aws { detail, .. })
                if detail.starts_with("ResourceNotFoundException") =>
            {
                tracing::warn!(
                    physical_id,
                    "deleted outside CloudFormation; creating it again"
                );
                self.create(request, new).await
            }
            Err(err) => Err(err),
        }
    }

    async fn delete(
        &self,
        _request: &Request,
        physical_id: &str,
        _props: &QueryProps,
    ) -> Result<(), ResourceError> {
        match self
            .logs
            .delete_query_definition()
            .query_definition_id(physical_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(ResourceError::aws(
                TYPE,
                "DeleteQueryDefinition",
                physical_id,
                &err,
            )),
        }
    }
}
