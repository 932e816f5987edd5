//! The Logs calls of `Custom::QueryDefinition`, with the owner ledger deciding what a stack may
//! change: a repeated delivery of a Create finds its earlier result there; Update and Delete
//! touch only a definition the ledger gives to the request's logical resource.

use crate::owners::{Kind, Ledger};
use crate::query_definition::{self, ATTRIBUTES, LiveQuery, QueryProps, Step, TYPE};
use aws_sdk_cloudwatchlogs::Client;
use shared::cfn::{Claim, CustomResource, Drift, Outcome, Request};
use shared::{PropertyError, Props, ResourceError};

pub struct QueryDefinitions {
    pub logs: Client,
    pub ledger: Ledger,
}

fn outcome(id: &str, props: &QueryProps) -> Outcome {
    let [id_attr, name] = ATTRIBUTES;
    Outcome::new(id).with(id_attr, id).with(name, &props.name)
}

impl QueryDefinitions {
    /// Definitions with this exact name.
    async fn named(&self, name: &str) -> Result<Vec<LiveQuery>, ResourceError> {
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
                Some(LiveQuery {
                    id: d.query_definition_id()?.to_owned(),
                    name: name.to_owned(),
                    query: d.query_string().unwrap_or_default().to_owned(),
                    log_group_names: groups,
                })
            })
            .collect())
    }

    /// The definition `id`, looked for under each of `names` (Logs lists them by name only).
    async fn by_id(&self, names: &[&str], id: &str) -> Result<Option<LiveQuery>, ResourceError> {
        for name in names {
            if let Some(live) = self.named(name).await?.into_iter().find(|d| d.id == id) {
                return Ok(Some(live));
            }
        }
        Ok(None)
    }

    /// A definition deleted outside CloudFormation: its ledger record goes, a new one is made.
    async fn create_again(
        &self,
        request: &Request,
        physical_id: &str,
        props: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        tracing::warn!(
            physical_id,
            "deleted outside CloudFormation; creating it again"
        );
        self.ledger
            .release(request, Kind::QueryDefinition, physical_id)
            .await?;
        self.create(request, props).await
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
        query_definition::decode(props)
    }

    async fn create(
        &self,
        request: &Request,
        props: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        for LiveQuery { id, .. } in self.named(&props.name).await? {
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

    /// Updated in place under the same id, as planned, when the ledger gives it to this
    /// logical resource (or it is unrecorded and exactly what the old properties wrote: made
    /// before the ledger); a definition deleted outside CloudFormation is made again, with a
    /// new id.
    /// The id is AWS's, made by this resource's Create, so whatever carries it is this
    /// resource's own.
    async fn drift(
        &self,
        _request: &Request,
        physical_id: &str,
        props: &QueryProps,
    ) -> Result<Drift, ResourceError> {
        match self.by_id(&[props.name.as_str()], physical_id).await? {
            Some(live) => Ok(Drift::of(&query_definition::plan(Some(&live), props))),
            None => Ok(Drift::Deleted),
        }
    }

    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&QueryProps>,
        new: &QueryProps,
    ) -> Result<Outcome, ResourceError> {
        let what = format!("QueryDefinitionId {physical_id}");
        let kind = Kind::QueryDefinition;
        let mut names = vec![new.name.as_str()];
        if let Some(old) = old.filter(|o| o.name != new.name) {
            names.insert(0, old.name.as_str());
        }
        let live = self.by_id(&names, physical_id).await?;
        let plan = query_definition::plan(live.as_ref(), new);
        match (
            &live,
            self.ledger.is_ours(request, kind, physical_id).await?,
        ) {
            (None, false) => {
                tracing::warn!(
                    physical_id,
                    "deleted outside CloudFormation; creating it again"
                );
                return self.create(request, new).await;
            }
            (Some(live), false) => {
                let made_before_ledger = old.is_some_and(|o| {
                    live.query == o.query && live.log_group_names == o.log_group_names
                });
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
            (_, true) => {}
        }
        if plan.needs(&Step::Create) {
            return self.create_again(request, physical_id, new).await;
        }
        if plan.is_empty() {
            return Ok(outcome(physical_id, new));
        }
        tracing::info!(physical_id, changes = ?plan.properties(), "updating the definition");
        match self.put(Some(physical_id), new).await {
            Ok(id) => Ok(outcome(&id, new)),
            Err(ResourceError::Aws { detail, .. })
                if detail.starts_with("ResourceNotFoundException") =>
            {
                self.create_again(request, physical_id, new).await
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
