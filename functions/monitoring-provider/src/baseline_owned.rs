//! What a baseline owns, found by its records: the alarms that carry its tag and this stack's
//! logical resource, and (through the owner ledger) its error filter and dashboards; and their
//! removal, composites before the metric alarms they name.

use crate::baseline::{BaselineProps, TAG_BASELINE};
use crate::baseline_lifecycle::{AlarmBaselines, desired_for};
use crate::baseline_plan::OwnedAlarm;
use crate::cw::LiveAlarm;
use crate::owners::Kind;
use shared::ResourceError;
use shared::cfn::{Request, made_by_logical_resource};
use std::collections::BTreeMap;

impl AlarmBaselines {
    /// The live alarms this stack's logical resource made as baseline `prefix`, with their
    /// tags.
    pub(crate) async fn owned_alarms(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<OwnedAlarm>, ResourceError> {
        Ok(self
            .owned_tagged(request, prefix)
            .await?
            .into_iter()
            .map(|(live, tags)| OwnedAlarm { live, tags })
            .collect())
    }

    pub(crate) async fn owned_tagged(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<(LiveAlarm, BTreeMap<String, String>)>, ResourceError> {
        let mut owned = Vec::new();
        for alarm in self.alarms.with_prefix(&format!("{prefix}-")).await? {
            let tags = self.alarms.tags(&alarm.arn).await?;
            if tags.get(TAG_BASELINE).map(String::as_str) == Some(prefix)
                && made_by_logical_resource(&tags, request)
            {
                owned.push((alarm, tags));
            }
        }
        Ok(owned)
    }

    pub(crate) async fn owned(
        &self,
        request: &Request,
        prefix: &str,
    ) -> Result<Vec<LiveAlarm>, ResourceError> {
        Ok(self
            .owned_tagged(request, prefix)
            .await?
            .into_iter()
            .map(|(alarm, _)| alarm)
            .collect())
    }

    /// Composites first: they name the metric alarms.
    pub(crate) async fn remove_alarms<'a>(
        &self,
        alarms: impl IntoIterator<Item = &'a LiveAlarm>,
    ) -> Result<(), ResourceError> {
        let (composites, metrics): (Vec<&LiveAlarm>, Vec<&LiveAlarm>) =
            alarms.into_iter().partition(|a| a.composite);
        for group in [composites, metrics] {
            let names: Vec<String> = group.iter().map(|a| a.name.clone()).collect();
            self.alarms.delete(&names).await?;
        }
        Ok(())
    }

    /// Removes the alarms whose tags pass `made` (and then the detectors the plan for `props`
    /// uses), and the filter and dashboards whose ledger records pass it.
    pub(crate) async fn remove_made(
        &self,
        request: &Request,
        props: &BaselineProps,
        made: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), ResourceError> {
        let made_alarms: Vec<LiveAlarm> = self
            .owned_tagged(request, &props.prefix)
            .await?
            .into_iter()
            .filter(|(_, tags)| made(tags))
            .map(|(alarm, _)| alarm)
            .collect();
        let plan = desired_for(request, props)?;
        if !made_alarms.is_empty() {
            tracing::info!(
                prefix = props.prefix,
                alarms = made_alarms.len(),
                "removing what an unanswered Create made"
            );
            self.remove_alarms(&made_alarms).await?;
            for spec in &plan.alarms {
                self.alarms.delete_unused_detector(spec).await?;
            }
        }
        if let Some(filter) = &plan.filter {
            let ledger = &self.filters.ledger;
            if made(
                &ledger
                    .owner_tags(Kind::MetricFilter, &filter.physical_id)
                    .await?,
            ) {
                self.filters.remove_owned(request, filter).await?;
            }
        }
        for (name, _) in &plan.dashboards {
            let ledger = &self.dashboards.ledger;
            if made(&ledger.owner_tags(Kind::Dashboard, name).await?) {
                self.dashboards
                    .delete_owned(request, std::slice::from_ref(name))
                    .await?;
            }
        }
        Ok(())
    }
}
