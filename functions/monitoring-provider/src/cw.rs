//! The CloudWatch calls the alarm types share: look an alarm up, put a metric alarm from its
//! spec (with its anomaly detector), keep tags in step, delete.
//!
//! A little over 400 lines on purpose: the one module of CloudWatch alarm calls, as each provider
//! has one module per AWS service.

use crate::alarm_spec::{self, AlarmSpec, MetricRef, Query, Watched};
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, CompositeAlarm, Dimension, Metric, MetricAlarm, MetricDataQuery,
    MetricStat, SingleMetricAnomalyDetector, Statistic, Tag,
};
use shared::{ResourceError, Tag as UserTag};
use std::collections::BTreeMap;

/// DeleteAlarms takes at most this many names per call.
const DELETE_BATCH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct LiveAlarm {
    pub name: String,
    pub arn: String,
    pub composite: bool,
    /// The alarm's definition as [`AlarmSpec::definition`] (or, for a composite,
    /// `CompositeProps::definition`) spells it.
    pub definition: BTreeMap<&'static str, String>,
}

/// What DescribeAlarms says of a composite alarm, in `CompositeProps::definition`'s terms.
fn composite_definition(alarm: &CompositeAlarm) -> BTreeMap<&'static str, String> {
    let period = |p: Option<i32>| p.map(|p| p.to_string()).unwrap_or_default();
    BTreeMap::from([
        (
            "AlarmRule",
            alarm.alarm_rule().unwrap_or_default().to_owned(),
        ),
        (
            "AlarmDescription",
            alarm.alarm_description().unwrap_or_default().to_owned(),
        ),
        (
            "ActionsSuppressor",
            alarm.actions_suppressor().unwrap_or_default().to_owned(),
        ),
        (
            "ActionsSuppressorWaitPeriod",
            period(alarm.actions_suppressor_wait_period()),
        ),
        (
            "ActionsSuppressorExtensionPeriod",
            period(alarm.actions_suppressor_extension_period()),
        ),
        ("AlarmActions", alarm_spec::arns_text(alarm.alarm_actions())),
        ("OkActions", alarm_spec::arns_text(alarm.ok_actions())),
    ])
}

/// What DescribeAlarms says of a metric alarm, in [`AlarmSpec::definition`]'s terms.
fn live_definition(alarm: &MetricAlarm) -> BTreeMap<&'static str, String> {
    let dims = |dimensions: &[Dimension]| -> BTreeMap<String, String> {
        dimensions
            .iter()
            .filter_map(|d| Some((d.name()?.to_owned(), d.value()?.to_owned())))
            .collect()
    };
    let strings = |list: &[String]| alarm_spec::arns_text(list);
    let mut d = BTreeMap::new();
    d.insert(
        "AlarmDescription",
        alarm.alarm_description().unwrap_or_default().to_owned(),
    );
    let periods = alarm.evaluation_periods().unwrap_or_default();
    d.insert("EvaluationPeriods", periods.to_string());
    d.insert(
        "DatapointsToAlarm",
        alarm.datapoints_to_alarm().unwrap_or(periods).to_string(),
    );
    d.insert(
        "Threshold",
        alarm
            .threshold()
            .map(alarm_spec::number)
            .unwrap_or_default(),
    );
    d.insert(
        "ComparisonOperator",
        alarm
            .comparison_operator()
            .map(|o| o.as_str().to_owned())
            .unwrap_or_default(),
    );
    d.insert(
        "TreatMissingData",
        alarm.treat_missing_data().unwrap_or("missing").to_owned(),
    );
    d.insert("AlarmActions", strings(alarm.alarm_actions()));
    d.insert("OkActions", strings(alarm.ok_actions()));
    if alarm.metrics().is_empty() {
        d.insert(
            "Namespace",
            alarm.namespace().unwrap_or_default().to_owned(),
        );
        d.insert(
            "MetricName",
            alarm.metric_name().unwrap_or_default().to_owned(),
        );
        d.insert(
            "Dimensions",
            alarm_spec::dimensions_text(&dims(alarm.dimensions())),
        );
        let statistic = alarm
            .statistic()
            .map(|s| s.as_str().to_owned())
            .or_else(|| alarm.extended_statistic().map(str::to_owned))
            .unwrap_or_default();
        d.insert("Statistic", statistic);
        d.insert("Period", alarm.period().unwrap_or_default().to_string());
    } else {
        let mut texts: Vec<String> = alarm
            .metrics()
            .iter()
            .map(|q| {
                let stat = q.metric_stat();
                let metric = stat.and_then(|s| s.metric());
                let dimensions = metric.map(|m| dims(m.dimensions())).unwrap_or_default();
                alarm_spec::query_text(
                    q.id().unwrap_or_default(),
                    q.expression(),
                    stat.zip(metric).map(|(s, m)| alarm_spec::QueryMetric {
                        namespace: m.namespace().unwrap_or_default(),
                        name: m.metric_name().unwrap_or_default(),
                        dimensions: &dimensions,
                        period: s.period().unwrap_or_default(),
                        stat: s.stat().unwrap_or_default(),
                    }),
                )
            })
            .collect();
        texts.sort();
        d.insert("Metrics", texts.join("; "));
    }
    d
}

#[derive(Clone)]
pub struct Alarms {
    pub cw: Client,
    pub resource_type: &'static str,
    /// Shared by every type this process serves: the quota is per account and Region.
    pub pacer: std::sync::Arc<shared::pace::Pacer>,
}

/// CloudWatch's request quotas for the alarm calls, per account and Region, at `writes` per
/// second (3 by default; raised quotas raise it: `ALARM_WRITES_PER_SECOND`). DescribeAlarms is
/// allowed three times as many.
pub fn alarm_pacer(writes: f64) -> shared::pace::Pacer {
    shared::pace::Pacer::new(&[
        ("PutMetricAlarm", writes),
        ("PutCompositeAlarm", writes),
        ("DeleteAlarms", writes),
        ("DescribeAlarms", writes * 3.0),
    ])
}

fn dims(metric: &MetricRef) -> Vec<Dimension> {
    metric
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect()
}

fn sdk_metric(metric: &MetricRef) -> Metric {
    Metric::builder()
        .namespace(&metric.namespace)
        .metric_name(&metric.metric_name)
        .set_dimensions(Some(dims(metric)))
        .build()
}

/// Whether a live metric is `wanted`: AWS keeps dimensions in the order each caller gave them,
/// so they are compared as a set.
fn same_metric(live: &Metric, wanted: &MetricRef) -> bool {
    let mut dimensions: Vec<(&str, &str)> = live
        .dimensions()
        .iter()
        .map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default()))
        .collect();
    dimensions.sort_unstable();
    let mut want: Vec<(&str, &str)> = wanted
        .dimensions
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    want.sort_unstable();
    live.namespace() == Some(wanted.namespace.as_str())
        && live.metric_name() == Some(wanted.metric_name.as_str())
        && dimensions == want
}

fn sdk_query(query: &Query) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(&query.id)
        .set_expression(query.expression.clone())
        .set_label(query.label.clone())
        .return_data(query.return_data)
        .set_metric_stat(query.metric.as_ref().map(|(metric, period, stat)| {
            MetricStat::builder()
                .metric(sdk_metric(metric))
                .period(*period)
                .stat(stat)
                .build()
        }))
        .build()
}

pub fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The metric and composite alarms of one DescribeAlarms answer.
fn live_alarms(out: &DescribeAlarmsOutput) -> Vec<LiveAlarm> {
    let metric = out
        .metric_alarms()
        .iter()
        .map(|a| (a.alarm_name(), a.alarm_arn(), false, live_definition(a)));
    let composite = out
        .composite_alarms()
        .iter()
        .map(|a| (a.alarm_name(), a.alarm_arn(), true, composite_definition(a)));
    metric
        .chain(composite)
        .filter_map(|(name, arn, composite, definition)| {
            Some(LiveAlarm {
                name: name?.to_owned(),
                arn: arn?.to_owned(),
                composite,
                definition,
            })
        })
        .collect()
}

/// The tags an alarm carries besides the request tags: the user's, plus severity and runbook.
/// How an alarm's live tags differ from its properties' user tags, `severity` and `runbook`:
/// the tags the old properties had and the new lack are removed, and `runbook` when none is
/// given; tags added by hand and the owner records stay.
pub fn alarm_retag(
    live: &BTreeMap<String, String>,
    old: Option<&[UserTag]>,
    new: &[UserTag],
    severity: &str,
    runbook: Option<&str>,
) -> Option<shared::plan::Retag> {
    let mut removed = shared::props::removed_tag_keys(old, new);
    if runbook.is_none() {
        removed.push(shared::alarm_tags::TAG_RUNBOOK.to_owned());
    }
    shared::plan::retag(live, &alarm_tags(new, severity, runbook), |k| {
        removed.iter().any(|r| r == k)
    })
}

pub fn alarm_tags(
    user: &[shared::Tag],
    severity: &str,
    runbook: Option<&str>,
) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = user
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    tags.push((
        shared::alarm_tags::TAG_SEVERITY.to_owned(),
        severity.to_owned(),
    ));
    if let Some(runbook) = runbook {
        tags.push((
            shared::alarm_tags::TAG_RUNBOOK.to_owned(),
            runbook.to_owned(),
        ));
    }
    tags
}

impl Alarms {
    pub fn new(
        cw: Client,
        resource_type: &'static str,
        pacer: std::sync::Arc<shared::pace::Pacer>,
    ) -> Self {
        Alarms {
            cw,
            resource_type,
            pacer,
        }
    }

    pub fn err<E>(&self, operation: &'static str, target: &str, err: &E) -> ResourceError
    where
        E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        ResourceError::aws(self.resource_type, operation, target, err)
    }

    /// The named alarms that exist, metric or composite.
    pub async fn find(&self, names: &[String]) -> Result<Vec<LiveAlarm>, ResourceError> {
        let mut found = Vec::new();
        for batch in names.chunks(DELETE_BATCH) {
            let request = self
                .cw
                .describe_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(100);
            let out = self
                .pacer
                .send("DescribeAlarms", || request.clone().send())
                .await
                .map_err(|e| self.err("DescribeAlarms", &batch.join(", "), &e))?;
            found.extend(live_alarms(&out));
        }
        Ok(found)
    }

    pub async fn describe(&self, name: &str) -> Result<Option<LiveAlarm>, ResourceError> {
        Ok(self
            .find(&[name.to_owned()])
            .await?
            .into_iter()
            .find(|a| a.name == name))
    }

    /// Every alarm whose name starts with `prefix`, page by page; each page paced, and waiting
    /// out throttling other processes cause, like every other alarm call.
    pub async fn with_prefix(&self, prefix: &str) -> Result<Vec<LiveAlarm>, ResourceError> {
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let request = self
                .cw
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(next_token.clone());
            let page = self
                .pacer
                .send("DescribeAlarms", || request.clone().send())
                .await
                .map_err(|e| self.err("DescribeAlarms", prefix, &e))?;
            found.extend(live_alarms(&page));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ResourceError> {
        let out = self
            .cw
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| self.err("ListTagsForResource", arn, &e))?;
        Ok(out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect())
    }

    /// Puts the alarm (creating or overwriting it), after its anomaly detector if it has one.
    /// `tags` apply only when the alarm is new; a plan's retag step keeps them afterwards.
    pub async fn put(
        &self,
        spec: &AlarmSpec,
        tags: &[(String, String)],
    ) -> Result<(), ResourceError> {
        let name = spec.alarm_name.as_str();
        if let Some((metric, stat)) = spec.anomaly_detector() {
            self.cw
                .put_anomaly_detector()
                .single_metric_anomaly_detector(
                    SingleMetricAnomalyDetector::builder()
                        .namespace(&metric.namespace)
                        .metric_name(&metric.metric_name)
                        .set_dimensions(Some(dims(metric)))
                        .stat(stat)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| self.err("PutAnomalyDetector", name, &e))?;
        }
        let mut request = self
            .cw
            .put_metric_alarm()
            .alarm_name(name)
            .alarm_description(spec.stored_description())
            .evaluation_periods(spec.evaluation_periods)
            .set_datapoints_to_alarm(spec.datapoints_to_alarm)
            .set_threshold(spec.threshold)
            .comparison_operator(ComparisonOperator::from(spec.comparison_operator.as_str()))
            .set_treat_missing_data(spec.treat_missing_data.clone())
            .set_alarm_actions(Some(spec.alarm_actions.clone()))
            .set_ok_actions(Some(spec.ok_actions.clone()))
            .set_tags(Some(sdk_tags(tags)));
        match spec.queries() {
            Some(queries) => {
                request = request.set_metrics(Some(queries.iter().map(sdk_query).collect()));
                if spec.anomaly_band_width.is_some() {
                    request = request.threshold_metric_id(crate::alarm_spec::BAND_ID);
                }
            }
            None => {
                if let Watched::Single {
                    metric,
                    statistic,
                    extended,
                    period,
                } = &spec.watched
                {
                    request = request
                        .namespace(&metric.namespace)
                        .metric_name(&metric.metric_name)
                        .set_dimensions(Some(dims(metric)))
                        .period(*period);
                    request = if *extended {
                        request.extended_statistic(statistic)
                    } else {
                        request.statistic(Statistic::from(statistic.as_str()))
                    };
                }
            }
        }
        self.pacer
            .send("PutMetricAlarm", || request.clone().send())
            .await
            .map(|_| ())
            .map_err(|e| self.err("PutMetricAlarm", name, &e))
    }

    /// Removes the tag keys `untag` and sets the pairs `tag` (either may be empty).
    pub async fn retag(
        &self,
        arn: &str,
        untag: &[String],
        tag: &[(String, String)],
    ) -> Result<(), ResourceError> {
        if !untag.is_empty() {
            self.cw
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(untag.to_vec()))
                .send()
                .await
                .map_err(|e| self.err("UntagResource", arn, &e))?;
        }
        if !tag.is_empty() {
            self.cw
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sdk_tags(tag)))
                .send()
                .await
                .map_err(|e| self.err("TagResource", arn, &e))?;
        }
        Ok(())
    }

    /// Deletes the named alarms; names that do not exist are fine.
    pub async fn delete(&self, names: &[String]) -> Result<(), ResourceError> {
        for batch in names.chunks(DELETE_BATCH) {
            let request = self
                .cw
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()));
            self.pacer
                .send("DeleteAlarms", || request.clone().send())
                .await
                .map_err(|e| self.err("DeleteAlarms", &batch.join(", "), &e))?;
        }
        Ok(())
    }

    /// Deletes the anomaly detector of `spec` unless another alarm still uses its band.
    pub async fn delete_unused_detector(&self, spec: &AlarmSpec) -> Result<(), ResourceError> {
        let Some((metric, stat)) = spec.anomaly_detector() else {
            return Ok(());
        };
        self.pacer.wait("DescribeAlarms").await;
        let pages = self
            .cw
            .describe_alarms()
            .alarm_types(AlarmType::MetricAlarm)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| self.err("DescribeAlarms", &metric.metric_name, &e))?;
        let still_used = pages.iter().flat_map(|p| p.metric_alarms()).any(|alarm| {
            alarm.alarm_name() != Some(spec.alarm_name.as_str())
                && alarm.threshold_metric_id().is_some()
                && alarm.metrics().iter().any(|q| {
                    q.metric_stat().is_some_and(|s| {
                        s.metric().is_some_and(|m| same_metric(m, metric)) && s.stat() == Some(stat)
                    })
                })
        });
        if still_used {
            return Ok(());
        }
        shared::error::deleted(
            self.cw
                .delete_anomaly_detector()
                .single_metric_anomaly_detector(
                    SingleMetricAnomalyDetector::builder()
                        .namespace(&metric.namespace)
                        .metric_name(&metric.metric_name)
                        .set_dimensions(Some(dims(metric)))
                        .stat(stat)
                        .build(),
                )
                .send()
                .await,
            |e| {
                e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
            },
            self.resource_type,
            "DeleteAnomalyDetector",
            &metric.metric_name,
        )
    }
}
