//! The lifecycle of a resource whose physical id is a name the user chose (a log group, a
//! cluster, an alarm): written once, so every such provider gets the same safety rules.
//!
//! - Create never takes over an existing resource, unless its owner record shows that an
//!   earlier delivery of this same request made it; otherwise it fails naming the owner.
//! - Update and Delete touch a resource only when its owner record names the request's stack
//!   and logical resource ([`Claim`]); a Delete of anyone else's answers SUCCESS and leaves it.
//! - What a Delete or Update may lose is judged by the stricter of the environment the
//!   resource was made for and the event's ([`NamedResource::hold_to`]).
//! - A new name in an Update is a replacement: the new resource is created and its name returned;
//!   CloudFormation's later Delete of the old name follows the resource's delete rules.
//! - An Update of a resource deleted outside CloudFormation recreates it.

use super::owner::{CANCELLED_CREATE_WINDOW, Claim};
use super::{
    CustomResource, Drift, Outcome, Request, TAG_LOGICAL_ID, TAG_REQUEST_ID, TAG_STACK_ID,
};
use crate::Environment;
use crate::error::ResourceError;
use crate::props::{PropertyError, Props};
use std::collections::BTreeMap;
use std::future::Future;

/// What a create attempt found.
pub enum Created<Live> {
    /// The resource was made now.
    New(Outcome),
    /// A resource of that name exists already: the lifecycle decides whether it may be adopted.
    Exists(Live),
}

pub trait NamedResource: Sync {
    const RESOURCE_TYPE: &'static str;
    /// The property that holds the name, for Reasons: `LogGroupName`, `ClusterName`.
    const NAME_PROPERTY: &'static str;
    /// Whether AWS can tag it. An untaggable type keeps its owner records in a ledger, and
    /// claims any Delete id (a sweep for a cancelled Create cannot find what it made).
    const TAGGABLE: bool = true;
    type Properties: Send + Sync + Clone;
    /// The resource as AWS describes it.
    type Live: Send + Sync;

    fn decode(props: &mut Props) -> Result<Self::Properties, PropertyError>;

    fn name(props: &Self::Properties) -> &str;

    fn describe(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Self::Live>, ResourceError>> + Send;

    /// For resources AWS cannot tag (dashboards, metric filters): whether the live resource is
    /// exactly what `props` asks for. Only an Update uses it, to record the owner of one made
    /// before the ledger existed when it is exactly what the stack's old properties wrote.
    fn identical(&self, _live: &Self::Live, _props: &Self::Properties) -> bool {
        false
    }

    /// The owner record of a live resource in tag form: its tags, or for a resource AWS
    /// cannot tag, its ledger entry (empty when there is none).
    fn owner_tags(
        &self,
        live: &Self::Live,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ResourceError>> + Send;

    /// Records `request` as the owner of the resource `props` name, for an untaggable type
    /// whose resource was made before the ledger. Taggable types record on Create.
    fn record_owner(
        &self,
        request: &Request,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send {
        let _ = (request, props);
        async { Ok(()) }
    }

    /// Drops the owner record of a deleted resource (the ledger entry of an untaggable one).
    fn forget_owner(
        &self,
        request: &Request,
        name: &str,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send {
        let _ = (request, name);
        async { Ok(()) }
    }

    /// `props` made at least as strict as `made_for`'s profile (retention, retain on Delete),
    /// when the resource was made for a stricter environment than `props` name; `None` when
    /// the type has nothing to protect or `props` are strict enough.
    fn hold_to(props: &Self::Properties, made_for: Environment) -> Option<Self::Properties> {
        let _ = (props, made_for);
        None
    }

    /// Creates the resource, tagged with the request tags, or reports that the name is taken.
    fn create(
        &self,
        request: &Request,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<Created<Self::Live>, ResourceError>> + Send;

    /// Brings a live resource to `new`; `old` is absent on adoption or when it no longer decodes.
    fn reconcile(
        &self,
        live: &Self::Live,
        old: Option<&Self::Properties>,
        new: &Self::Properties,
    ) -> impl Future<Output = Result<Outcome, ResourceError>> + Send;

    fn delete(
        &self,
        name: &str,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send;

    /// What [`NamedResource::reconcile`] would change on `live` for `props`, from the same
    /// plan, with nothing applied. `owner_tags` are what [`NamedResource::owner_tags`] read.
    fn drift(
        &self,
        live: &Self::Live,
        owner_tags: &BTreeMap<String, String>,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<Drift, ResourceError>> + Send {
        let _ = (live, owner_tags, props);
        async { Ok(Drift::Unchecked) }
    }
}

/// Serves a [`NamedResource`] through the protocol: `Provider::handle` routes to
/// `serve(&Named(..), request)`.
pub struct Named<T>(pub T);

impl<T: NamedResource> Named<T> {
    async fn create_or_adopt(
        &self,
        request: &Request,
        props: &T::Properties,
    ) -> Result<Outcome, ResourceError> {
        let live = match self.0.create(request, props).await? {
            Created::New(outcome) => return Ok(outcome),
            Created::Exists(live) => live,
        };
        let name = T::name(props);
        let claim = Claim::of(&self.0.owner_tags(&live).await?, request);
        if !matches!(claim, Claim::ThisRequest(_)) {
            return Err(claim.refusal(
                T::RESOURCE_TYPE,
                &format!("{} {name}", T::NAME_PROPERTY),
                "adopt",
            ));
        }
        tracing::info!(
            name,
            "adopting what an earlier delivery of this request created"
        );
        self.0.reconcile(&live, None, props).await
    }

    /// `props`, held to the environment the resource was made for when that is stricter.
    fn held<'a>(claim: &Claim, props: &'a T::Properties) -> std::borrow::Cow<'a, T::Properties>
    where
        T::Properties: Clone,
    {
        let held = claim
            .made_for()
            .and_then(|made_for| T::hold_to(props, made_for));
        match held {
            Some(held) => std::borrow::Cow::Owned(held),
            None => std::borrow::Cow::Borrowed(props),
        }
    }
}

impl<T: NamedResource> CustomResource for Named<T> {
    const RESOURCE_TYPE: &'static str = T::RESOURCE_TYPE;
    type Properties = T::Properties;

    fn decode(props: &mut Props) -> Result<T::Properties, PropertyError> {
        T::decode(props)
    }

    async fn create(
        &self,
        request: &Request,
        props: &T::Properties,
    ) -> Result<Outcome, ResourceError> {
        self.create_or_adopt(request, props).await
    }

    async fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&T::Properties>,
        new: &T::Properties,
    ) -> Result<Outcome, ResourceError> {
        if T::name(new) != physical_id {
            return self.create_or_adopt(request, new).await;
        }
        match self.0.describe(physical_id).await? {
            Some(live) => {
                let mut claim = Claim::of(&self.0.owner_tags(&live).await?, request);
                if claim == Claim::Unrecorded
                    && !T::TAGGABLE
                    && old.is_some_and(|old| self.0.identical(&live, old))
                {
                    // Made by a release before the ledger: exactly what this stack last wrote.
                    tracing::info!(name = physical_id, "recording this stack as its owner");
                    self.0.record_owner(request, new).await?;
                    claim = Claim::of(&self.0.owner_tags(&live).await?, request);
                }
                if !claim.is_ours() {
                    return Err(claim.refusal(
                        T::RESOURCE_TYPE,
                        &format!("{} {physical_id}", T::NAME_PROPERTY),
                        "change",
                    ));
                }
                let new = Self::held(&claim, new);
                self.0.reconcile(&live, old, &new).await
            }
            None => {
                tracing::warn!(
                    name = physical_id,
                    "deleted outside CloudFormation; recreating it"
                );
                self.create_or_adopt(request, new).await
            }
        }
    }

    /// Only what this stack's logical resource made (by its owner record): a Delete naming
    /// anyone else's resource, forged or mistaken, answers SUCCESS and leaves it in place.
    async fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        let Some(live) = self.0.describe(physical_id).await? else {
            tracing::info!(name = physical_id, "already gone");
            return self.0.forget_owner(request, physical_id).await;
        };
        let claim = Claim::of(&self.0.owner_tags(&live).await?, request);
        if !claim.is_ours() {
            claim.log_left_alone(T::RESOURCE_TYPE, physical_id);
            return Ok(());
        }
        let props = Self::held(&claim, props);
        self.0.delete(physical_id, &props).await?;
        self.0.forget_owner(request, physical_id).await
    }

    /// What the failed Create made, found by its name and request id in its owner record,
    /// follows the type's delete rules (so uat/prod log groups are still retained).
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        self.remove_made(failed, props, |tags| made_by_request(tags, failed))
            .await
    }

    /// As an Update would see it: gone, someone else's, or the plan's changes against the
    /// properties held to the environment the resource was made for.
    async fn drift(
        &self,
        request: &Request,
        physical_id: &str,
        props: &T::Properties,
    ) -> Result<Drift, ResourceError> {
        let Some(live) = self.0.describe(physical_id).await? else {
            return Ok(Drift::Deleted);
        };
        let tags = self.0.owner_tags(&live).await?;
        let claim = Claim::of(&tags, request);
        if !claim.is_ours() && (T::TAGGABLE || claim != Claim::Unrecorded) {
            return Ok(Drift::Foreign(claim.holder()));
        }
        self.0.drift(&live, &tags, &Self::held(&claim, props)).await
    }

    /// Any id, for a type whose resources cannot be tagged: a sweep could not tell what a
    /// cancelled Create made.
    fn is_own_id(&self, physical_id: &str, props: &T::Properties) -> bool {
        !T::TAGGABLE || physical_id == T::name(props)
    }

    /// The resource of that name, if this stack's logical resource made it lately (by its
    /// owner record): an older one of the same logical id, such as one kept by
    /// `DeletionPolicy: Retain`, is not what the cancelled Create made.
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        self.remove_made(cancelled, props, |tags| {
            made_lately_by_logical_resource(tags, cancelled)
        })
        .await
    }
}

impl<T: NamedResource> Named<T> {
    /// Deletes the resource `props` name, under the type's delete rules, when its tags pass
    /// `made`.
    async fn remove_made(
        &self,
        request: &Request,
        props: &T::Properties,
        made: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), ResourceError> {
        let name = T::name(props);
        let Some(live) = self.0.describe(name).await? else {
            return Ok(());
        };
        let tags = self.0.owner_tags(&live).await?;
        if !made(&tags) {
            return Ok(());
        }
        tracing::info!(name, "removing what an unanswered Create made");
        let props = Self::held(&Claim::of(&tags, request), props);
        self.0.delete(name, &props).await?;
        self.0.forget_owner(request, name).await
    }
}

/// Whether `tags` say that `request` itself made the resource.
pub fn made_by_request(tags: &BTreeMap<String, String>, request: &Request) -> bool {
    tags.get(TAG_REQUEST_ID) == Some(&request.request_id)
}

/// Whether `tags` say that `request`'s stack and logical resource made the resource.
pub fn made_by_logical_resource(tags: &BTreeMap<String, String>, request: &Request) -> bool {
    tags.get(TAG_STACK_ID) == Some(&request.stack_id)
        && tags.get(TAG_LOGICAL_ID) == Some(&request.logical_resource_id)
}

/// Whether `request`'s stack and logical resource made it within the window in which a
/// cancelled Create could have run ([`CANCELLED_CREATE_WINDOW`]).
pub fn made_lately_by_logical_resource(tags: &BTreeMap<String, String>, request: &Request) -> bool {
    made_by_logical_resource(tags, request)
        && super::Owner::from_tags(tags).is_some_and(|o| o.made_within(CANCELLED_CREATE_WINDOW))
}
