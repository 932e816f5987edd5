//! The Logs calls of `Custom::MetricFilter` (and of the baseline's error filter): put, read,
//! delete, with the owner ledger deciding what a stack may change.

use crate::metric_filter::{self, ATTRIBUTES, FilterProps, LiveFilter, Step, TYPE};
use crate::owners::{Kind, Ledger};
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request};
use shared::{PropertyError, Props, ResourceError};
use std::collections::BTreeMap;

pub struct MetricFilters {
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The type errors are reported under: this one, or the baseline that writes it.
    pub resource_type: &'static str,
    pub ledger: Ledger,
}

fn split(physical_id: &str) -> Option<(&str, &str)> {
    physical_id.split_once('|')
}

impl MetricFilters {
    pub async fn get(&self, group: &str, name: &str) -> Result<Option<LiveFilter>, ResourceError> {
        let out = match self
            .logs
            .describe_metric_filters()
            .log_group_name(group)
            .filter_name_prefix(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(err) => {
                return Err(ResourceError::aws(
                    self.resource_type,
                    "DescribeMetricFilters",
                    format!("{group}|{name}"),
                    &err,
                ));
            }
        };
        Ok(out
            .metric_filters()
            .iter()
            .find(|f| f.filter_name() == Some(name))
            .map(|f| {
                let t = f.metric_transformations().first();
                LiveFilter {
                    physical_id: format!("{group}|{name}"),
                    pattern: f.filter_pattern().unwrap_or_default().to_owned(),
                    namespace: t
                        .map(|t| t.metric_namespace().to_owned())
                        .unwrap_or_default(),
                    metric_name: t.map(|t| t.metric_name().to_owned()).unwrap_or_default(),
                    metric_value: t.map(|t| t.metric_value().to_owned()).unwrap_or_default(),
                    default_value: t.and_then(|t| t.default_value()),
                }
            }))
    }

    pub async fn put(&self, props: &FilterProps) -> Result<(), ResourceError> {
        let transformation = aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
            .metric_namespace(&props.namespace)
            .metric_name(&props.metric_name)
            .metric_value(&props.metric_value)
            .set_default_value(props.default_value)
            .set_unit(
                props
                    .unit
                    .as_deref()
                    .map(aws_sdk_cloudwatchlogs::types::StandardUnit::from),
            )
            .build()
            .map_err(|e| {
                ResourceError::refused(self.resource_type, format!("metric transformation: {e}"))
            })?;
        self.logs
            .put_metric_filter()
            .log_group_name(&props.log_group_name)
            .filter_name(&props.filter_name)
            .filter_pattern(&props.pattern)
            .metric_transformations(transformation)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                ResourceError::aws(
                    self.resource_type,
                    "PutMetricFilter",
                    &props.physical_id,
                    &e,
                )
            })
    }

    pub async fn remove(&self, group: &str, name: &str) -> Result<(), ResourceError> {
        shared::error::deleted(
            self.logs
                .delete_metric_filter()
                .log_group_name(group)
                .filter_name(name)
                .send()
                .await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            },
            self.resource_type,
            "DeleteMetricFilter",
            &format!("{group}|{name}"),
        )
    }

    /// Writes the filter for `request`'s logical resource, under the same rule as
    /// [`crate::dashboard::Dashboards::put_owned`]: `legacy` is what this resource wrote before
    /// the ledger existed.
    pub async fn put_owned(
        &self,
        request: &Request,
        props: &FilterProps,
        legacy: Option<&FilterProps>,
    ) -> Result<(), ResourceError> {
        let what = format!("metric filter {}", props.physical_id);
        let (kind, id) = (Kind::MetricFilter, props.physical_id.as_str());
        let Some(live) = self.get(&props.log_group_name, &props.filter_name).await? else {
            self.ledger
                .claim(request, props.environment, kind, id, &what)
                .await?;
            return self.put(props).await;
        };
        let made_before_ledger = legacy.is_some_and(|l| self.identical(&live, l));
        self.ledger
            .hold_existing(
                request,
                props.environment,
                kind,
                id,
                &what,
                made_before_ledger,
            )
            .await?;
        if self.identical(&live, props) {
            return Ok(());
        }
        self.put(props).await
    }

    /// Deletes the filter and its record when the ledger gives it to `request`'s logical
    /// resource; anyone else's stays.
    pub async fn remove_owned(
        &self,
        request: &Request,
        props: &FilterProps,
    ) -> Result<(), ResourceError> {
        let ours = self
            .ledger
            .is_ours(request, Kind::MetricFilter, &props.physical_id)
            .await?;
        if !ours {
            tracing::warn!(
                filter = props.physical_id,
                "left in place: the owner ledger does not give it to this resource"
            );
            return Ok(());
        }
        self.remove(&props.log_group_name, &props.filter_name)
            .await?;
        self.ledger
            .release(request, Kind::MetricFilter, &props.physical_id)
            .await
    }

    fn outcome(props: &FilterProps) -> Outcome {
        let [filter, group] = ATTRIBUTES;
        Outcome::new(&props.physical_id)
            .with(filter, &props.filter_name)
            .with(group, &props.log_group_name)
    }
}

impl NamedResource for MetricFilters {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "FilterName";
    const TAGGABLE: bool = false;
    type Properties = FilterProps;
    type Live = LiveFilter;

    fn decode(props: &mut Props) -> Result<FilterProps, PropertyError> {
        metric_filter::decode(props)
    }

    fn name(props: &FilterProps) -> &str {
        &props.physical_id
    }

    async fn describe(&self, physical_id: &str) -> Result<Option<LiveFilter>, ResourceError> {
        match split(physical_id) {
            Some((group, name)) => self.get(group, name).await,
            None => Ok(None),
        }
    }

    fn identical(&self, live: &LiveFilter, props: &FilterProps) -> bool {
        metric_filter::plan(live, props).is_empty()
    }

    async fn owner_tags(
        &self,
        live: &LiveFilter,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        self.ledger
            .owner_tags(Kind::MetricFilter, &live.physical_id)
            .await
    }

    /// Recorded first: of two stacks creating one filter, the ledger lets exactly one write it.
    async fn create(
        &self,
        request: &Request,
        props: &FilterProps,
    ) -> Result<Created<LiveFilter>, ResourceError> {
        if let Some(existing) = self.get(&props.log_group_name, &props.filter_name).await? {
            return Ok(Created::Exists(existing));
        }
        self.record_owner(request, props).await?;
        self.put(props).await?;
        Ok(Created::New(Self::outcome(props)))
    }

    async fn record_owner(
        &self,
        request: &Request,
        props: &FilterProps,
    ) -> Result<(), ResourceError> {
        let what = format!("{} {}", Self::NAME_PROPERTY, props.physical_id);
        self.ledger
            .claim(
                request,
                props.environment,
                Kind::MetricFilter,
                &props.physical_id,
                &what,
            )
            .await
    }

    async fn forget_owner(&self, request: &Request, name: &str) -> Result<(), ResourceError> {
        self.ledger.release(request, Kind::MetricFilter, name).await
    }

    async fn reconcile(
        &self,
        live: &LiveFilter,
        _old: Option<&FilterProps>,
        new: &FilterProps,
    ) -> Result<Outcome, ResourceError> {
        let plan = metric_filter::plan(live, new);
        if plan.needs(&Step::PutMetricFilter) {
            tracing::info!(filter = %new.physical_id, changes = ?plan.properties(), "updating");
            self.put(new).await?;
        }
        Ok(Self::outcome(new))
    }

    async fn drift(
        &self,
        live: &LiveFilter,
        _owner_tags: &BTreeMap<String, String>,
        props: &FilterProps,
    ) -> Result<Drift, ResourceError> {
        Ok(Drift::of(&metric_filter::plan(live, props)))
    }

    async fn delete(&self, physical_id: &str, _props: &FilterProps) -> Result<(), ResourceError> {
        match split(physical_id) {
            Some((group, name)) => self.remove(group, name).await,
            None => {
                tracing::info!(physical_id, "not a metric filter id; nothing to delete");
                Ok(())
            }
        }
    }
}
