//! The SNS calls of `Custom::AlertTopic`: the topic, its tags and its subscriptions.

use crate::alert_topic::{self, ATTRIBUTES, Subscription, TYPE, TopicProps};
use aws_sdk_sns::Client;
use aws_sdk_sns::types::Tag as SnsTag;
use shared::alarm_tags::TAG_SEVERITY;
use shared::cfn::{
    Claim, CustomResource, Outcome, Request, made_by_request, made_lately_by_logical_resource,
};
use shared::props::removed_tag_keys;
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
    let [arn_attr, name] = ATTRIBUTES;
    Outcome::new(arn)
        .with(arn_attr, arn)
        .with(name, &props.topic_name)
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
    async fn exists(&self, arn: &str) -> Result<bool, ResourceError> {
        match self.sns.get_topic_attributes().topic_arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(err("GetTopicAttributes", arn, &e)),
        }
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

    fn wanted_tags(props: &TopicProps) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = props
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        tags.push((TAG_SEVERITY.to_owned(), props.severity.clone()));
        tags
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

    async fn reconcile(
        &self,
        arn: &str,
        old: Option<&TopicProps>,
        new: &TopicProps,
    ) -> Result<(), ResourceError> {
        let key = new.kms_key.clone().unwrap_or_default();
        if old.is_none_or(|o| o.kms_key != new.kms_key) {
            self.sns
                .set_topic_attributes()
                .topic_arn(arn)
                .attribute_name("KmsMasterKeyId")
                .attribute_value(&key)
                .send()
                .await
                .map_err(|e| err("SetTopicAttributes", arn, &e))?;
        }
        let live = self.subscriptions(arn).await?;
        for wanted in &new.subscriptions {
            if !live.iter().any(|(s, _)| s == wanted) {
                self.sns
                    .subscribe()
                    .topic_arn(arn)
                    .protocol(&wanted.protocol)
                    .endpoint(&wanted.endpoint)
                    .return_subscription_arn(true)
                    .send()
                    .await
                    .map_err(|e| err("Subscribe", arn, &e))?;
            }
        }
        // Only subscriptions the old properties made are removed; others were added by hand.
        for (sub, sub_arn) in &live {
            let dropped = !new.subscriptions.contains(sub)
                && old.is_some_and(|o| o.subscriptions.contains(sub));
            if dropped && sub_arn.starts_with("arn:") {
                self.sns
                    .unsubscribe()
                    .subscription_arn(sub_arn)
                    .send()
                    .await
                    .map_err(|e| err("Unsubscribe", sub_arn, &e))?;
            }
        }
        let live_tags = self.tags(arn).await?;
        let removed: Vec<String> = removed_tag_keys(old.map(|o| o.tags.as_slice()), &new.tags)
            .into_iter()
            .filter(|k| live_tags.contains_key(k))
            .collect();
        if !removed.is_empty() {
            self.sns
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| err("UntagResource", arn, &e))?;
        }
        let changed: Vec<SnsTag> = Self::wanted_tags(new)
            .into_iter()
            .filter(|(k, v)| live_tags.get(k) != Some(v))
            .filter_map(|(k, v)| SnsTag::builder().key(k).value(v).build().ok())
            .collect();
        if !changed.is_empty() {
            self.sns
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| err("TagResource", arn, &e))?;
        }
        Ok(())
    }
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
        if self.exists(&expected).await? {
            let claim = Claim::of(&self.tags(&expected).await?, request);
            if !matches!(claim, Claim::ThisRequest(_)) {
                return Err(claim.refusal(
                    TYPE,
                    &format!("TopicName {}", props.topic_name),
                    "adopt",
                ));
            }
            self.reconcile(&expected, None, props).await?;
            return Ok(outcome(&expected, props));
        }
        let mut tags = Self::wanted_tags(props);
        tags.extend(request.resource_tags(&[], props.environment));
        let mut create = self
            .sns
            .create_topic()
            .name(&props.topic_name)
            .set_tags(Some(
                tags.into_iter()
                    .filter_map(|(k, v)| SnsTag::builder().key(k).value(v).build().ok())
                    .collect(),
            ));
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
            self.sns
                .subscribe()
                .topic_arn(&arn)
                .protocol(&sub.protocol)
                .endpoint(&sub.endpoint)
                .return_subscription_arn(true)
                .send()
                .await
                .map_err(|e| err("Subscribe", &arn, &e))?;
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
        if renamed || !self.exists(physical_id).await? {
            return self.create(request, new).await;
        }
        let claim = Claim::of(&self.tags(physical_id).await?, request);
        if !claim.is_ours() {
            return Err(claim.refusal(TYPE, &format!("topic {physical_id}"), "change"));
        }
        self.reconcile(physical_id, old, new).await?;
        Ok(outcome(physical_id, new))
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
