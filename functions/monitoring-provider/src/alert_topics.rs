//! The SNS calls of `Custom::AlertTopic`: the topic, its tags and its subscriptions.

use crate::alert_topic::{
    self, ATTRIBUTES, LiveTopic, Step, Subscription, TYPE, TopicProps, wanted_tags,
};
use aws_sdk_sns::Client;
use aws_sdk_sns::types::Tag as SnsTag;
use shared::cfn::{
    Claim, CustomResource, Drift, Outcome, Request, made_by_request,
    made_lately_by_logical_resource,
};
use shared::cost::{Billed, Prices};
use shared::plan::Plan;
use shared::{PropertyError, Props, ResourceError};
use std::collections::BTreeMap;

pub struct AlertTopics {
    pub sns: Client,
}

fn err<E>(operation: &'static str, target: &str, e: &E) -> ResourceError
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    ResourceError::aws(TYPE, operation, target, e)
}

fn outcome(arn: &str, props: &TopicProps) -> Outcome {
    let [arn_attr, name, cost] = ATTRIBUTES;
    // A topic has no monthly charge: publishes and deliveries are usage.
    Outcome::new(arn)
        .with(arn_attr, arn)
        .with(name, &props.topic_name)
        .with(cost, Billed::NONE.attribute(Prices::from_env()))
}

fn topic_arn(request: &Request, name: &str) -> Option<String> {
    let parts: Vec<&str> = request.stack_id.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _, region, account, _] => {
            Some(format!("arn:{partition}:sns:{region}:{account}:{name}"))
        }
        _ => None,
    }
}

impl AlertTopics {
    /// The topic's KMS key, or `None` when SNS does not know the topic.
    async fn kms_key(&self, arn: &str) -> Result<Option<Option<String>>, ResourceError> {
        match self.sns.get_topic_attributes().topic_arn(arn).send().await {
            Ok(out) => Ok(Some(
                out.attributes()
                    .and_then(|a| a.get("KmsMasterKeyId"))
                    .filter(|k| !k.is_empty())
                    .cloned(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err("GetTopicAttributes", arn, &e)),
        }
    }

    /// The topic as a plan compares it, stopping after the tags when `check` refuses them.
    async fn read_checked(
        &self,
        arn: &str,
        check: impl FnOnce(&BTreeMap<String, String>) -> Result<(), ResourceError>,
    ) -> Result<Option<LiveTopic>, ResourceError> {
        let Some(kms_key) = self.kms_key(arn).await? else {
            return Ok(None);
        };
        let tags = self.tags(arn).await?;
        check(&tags)?;
        Ok(Some(LiveTopic {
            kms_key,
            subscriptions: self.subscriptions(arn).await?,
            tags,
        }))
    }

    async fn exists(&self, arn: &str) -> Result<bool, ResourceError> {
        Ok(self.kms_key(arn).await?.is_some())
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, ResourceError> {
        let out = self
            .sns
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| err("ListTagsForResource", arn, &e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// `(protocol, endpoint) -> subscription ARN` of confirmed subscriptions; pending ones
    /// cannot be removed and are left out.
    async fn subscriptions(&self, arn: &str) -> Result<Vec<(Subscription, String)>, ResourceError> {
        let subs = self
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| err("ListSubscriptionsByTopic", arn, &e))?;
        Ok(subs
            .into_iter()
            .filter_map(|s| {
                let sub_arn = s.subscription_arn?;
                Some((
                    Subscription {
                        protocol: s.protocol?,
                        endpoint: s.endpoint?,
                    },
                    sub_arn,
                ))
            })
            .collect())
    }

    /// Deletes the topic `props` name in `request`'s account when its tags pass `made`.
    async fn remove_made(
        &self,
        request: &Request,
        props: &TopicProps,
        made: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), ResourceError> {
        let Some(arn) = topic_arn(request, &props.topic_name) else {
            return Ok(());
        };
        if !self.exists(&arn).await? || !made(&self.tags(&arn).await?) {
            return Ok(());
        }
        tracing::info!(topic = arn, "removing the topic an unanswered Create made");
        self.delete(request, &arn, props).await
    }

    async fn subscribe(&self, arn: &str, sub: &Subscription) -> Result<(), ResourceError> {
        self.sns
            .subscribe()
            .topic_arn(arn)
            .protocol(&sub.protocol)
            .endpoint(&sub.endpoint)
            .return_subscription_arn(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| err("Subscribe", arn, &e))
    }

    async fn retag(
        &self,
        arn: &str,
        untag: &[String],
        tag: &[(String, String)],
    ) -> Result<(), ResourceError> {
        if !untag.is_empty() {
            self.sns
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(untag.to_vec()))
                .send()
                .await
                .map_err(|e| err("UntagResource", arn, &e))?;
        }
        if !tag.is_empty() {
            self.sns
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sns_tags(tag.to_vec())))
                .send()
                .await
                .map_err(|e| err("TagResource", arn, &e))?;
        }
        Ok(())
    }

    /// Performs `plan` on the topic `arn`.
    async fn apply(
        &self,
        arn: &str,
        plan: &Plan<Step>,
        new: &TopicProps,
    ) -> Result<(), ResourceError> {
        if !plan.is_empty() {
            tracing::info!(topic = arn, changes = ?plan.properties(), "bringing the topic in step");
        }
        for change in &plan.changes {
            match &change.step {
                Step::Create => {
                    return Err(ResourceError::refused(
                        TYPE,
                        format!("topic {arn} no longer exists"),
                    ));
                }
                Step::SetKmsKey => self
                    .sns
                    .set_topic_attributes()
                    .topic_arn(arn)
                    .attribute_name("KmsMasterKeyId")
                    .attribute_value(new.kms_key.clone().unwrap_or_default())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| err("SetTopicAttributes", arn, &e))?,
                Step::Subscribe(sub) => self.subscribe(arn, sub).await?,
                Step::Unsubscribe(sub_arn) => self
                    .sns
                    .unsubscribe()
                    .subscription_arn(sub_arn)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| err("Unsubscribe", sub_arn, &e))?,
                Step::Retag(untag, tag) => self.retag(arn, untag, tag).await?,
            }
        }
        Ok(())
    }
}

fn sns_tags(pairs: Vec<(String, String)>) -> Vec<SnsTag> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| SnsTag::builder().key(k).value(v).build().ok())
        .collect()
}

impl CustomResource for AlertTopics {
    const RESOURCE_TYPE: &'static str = TYPE;
    type Properties = TopicProps;

    fn decode(props: &mut Props) -> Result<TopicProps, PropertyError> {
        alert_topic::decode(props)
    }

    /// Looks first: CreateTopic on a taken name returns that topic instead of failing.
    async fn create(
        &self,
        request: &Request,
        props: &TopicProps,
    ) -> Result<Outcome, ResourceError> {
        let expected = topic_arn(request, &props.topic_name).ok_or_else(|| {
            ResourceError::refused(TYPE, "StackId is not a CloudFormation stack ARN")
        })?;
        let live = self
            .read_checked(&expected, |tags| match Claim::of(tags, request) {
                Claim::ThisRequest(_) => Ok(()),
                claim => {
                    Err(claim.refusal(TYPE, &format!("TopicName {}", props.topic_name), "adopt"))
                }
            })
            .await?;
        if let Some(live) = live {
            let plan = alert_topic::plan(Some(&live), None, props);
            self.apply(&expected, &plan, props).await?;
            return Ok(outcome(&expected, props));
        }
        let mut tags = wanted_tags(props);
        tags.extend(request.resource_tags(&[], props.environment));
        let mut create = self
            .sns
            .create_topic()
            .name(&props.topic_name)
            .set_tags(Some(sns_tags(tags)));
        if let Some(key) = &props.kms_key {
            create = create.attributes("KmsMasterKeyId", key);
        }
        let arn = create
            .send()
            .await
            .map_err(|e| err("CreateTopic", &props.topic_name, &e))?
            .topic_arn
            .unwrap_or(expected);
        for sub in &props.subscriptions {
            self.subscribe(&arn, sub).await?;
        }
        Ok(outcome(&arn, props))
    }

    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&TopicProps>,
        new: &TopicProps,
    ) -> Result<Outcome, ResourceError> {
        let renamed = !physical_id.ends_with(&format!(":{}", new.topic_name));
        let live = match renamed {
            true => None,
            false => {
                self.read_checked(physical_id, |tags| {
                    let claim = Claim::of(tags, request);
                    match claim.is_ours() {
                        true => Ok(()),
                        false => {
                            Err(claim.refusal(TYPE, &format!("topic {physical_id}"), "change"))
                        }
                    }
                })
                .await?
            }
        };
        let plan = alert_topic::plan(live.as_ref(), old, new);
        if plan.needs(&Step::Create) {
            return self.create(request, new).await;
        }
        self.apply(physical_id, &plan, new).await?;
        Ok(outcome(physical_id, new))
    }

    async fn drift(
        &self,
        request: &Request,
        physical_id: &str,
        props: &TopicProps,
    ) -> Result<Drift, ResourceError> {
        if !physical_id.starts_with("arn:") {
            return Ok(Drift::Deleted);
        }
        let Some(live) = self.read_checked(physical_id, |_| Ok(())).await? else {
            return Ok(Drift::Deleted);
        };
        let claim = Claim::of(&live.tags, request);
        if !claim.is_ours() {
            return Ok(Drift::Foreign(claim.holder()));
        }
        Ok(Drift::of(&alert_topic::plan(
            Some(&live),
            Some(props),
            props,
        )))
    }

    /// Only a topic this stack's logical resource made; any other is left in place.
    async fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        _props: &TopicProps,
    ) -> Result<(), ResourceError> {
        if !physical_id.starts_with("arn:") || !self.exists(physical_id).await? {
            return Ok(());
        }
        let claim = Claim::of(&self.tags(physical_id).await?, request);
        if !claim.is_ours() {
            claim.log_left_alone(TYPE, physical_id);
            return Ok(());
        }
        // DeleteTopic of a topic that is gone succeeds.
        self.sns
            .delete_topic()
            .topic_arn(physical_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| err("DeleteTopic", physical_id, &e))
    }

    /// The failed Create tagged its topic with its request id; DeleteTopic takes the
    /// subscriptions it had made with the topic.
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &TopicProps,
    ) -> Result<(), ResourceError> {
        self.remove_made(failed, props, |tags| made_by_request(tags, failed))
            .await
    }

    fn is_own_id(&self, physical_id: &str, props: &TopicProps) -> bool {
        physical_id.starts_with("arn:") && physical_id.ends_with(&format!(":{}", props.topic_name))
    }

    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &TopicProps,
    ) -> Result<(), ResourceError> {
        self.remove_made(cancelled, props, |tags| {
            made_lately_by_logical_resource(tags, cancelled)
        })
        .await
    }
}
