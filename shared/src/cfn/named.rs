//! The lifecycle of a resource whose physical id is a name the user chose (a log group, a
//! cluster, an alarm): written once, so every such provider gets the same safety rules.
//!
//! - Create never takes over an existing resource, unless its `stackhand:request-id` tag shows
//!   that an earlier delivery of this same request made it (or, for a resource AWS cannot tag,
//!   it is already exactly what the request asks for).
//! - A new name in an Update is a replacement: the new resource is created and its name returned;
//!   CloudFormation's later Delete of the old name follows the resource's delete rules.
//! - An Update of a resource deleted outside CloudFormation recreates it.

use super::{CustomResource, Outcome, Request, TAG_LOGICAL_ID, TAG_REQUEST_ID, TAG_STACK_ID};
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
    /// Whether AWS can tag it. Nothing proves who made an untaggable resource, so no cleanup
    /// looks for one.
    const TAGGABLE: bool = true;
    type Properties: Send + Sync;
    /// The resource as AWS describes it.
    type Live: Send + Sync;

    fn decode(props: &mut Props) -> Result<Self::Properties, PropertyError>;

    fn name(props: &Self::Properties) -> &str;

    fn describe(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Self::Live>, ResourceError>> + Send;

    /// For resources AWS cannot tag (dashboards, metric filters): whether the live resource is
    /// already exactly what `props` asks for, so that taking it over changes nothing. Taggable
    /// resources keep the default: only the request tag proves ownership.
    fn identical(&self, _live: &Self::Live, _props: &Self::Properties) -> bool {
        false
    }

    /// The tags of a live resource (`stackhand:request-id` and the others that say who made
    /// it); none for a resource AWS cannot tag.
    fn owner_tags(
        &self,
        live: &Self::Live,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, ResourceError>> + Send;

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
        let ours = made_by_request(&self.0.owner_tags(&live).await?, request);
        if !ours && !self.0.identical(&live, props) {
            return Err(ResourceError::refused(
                T::RESOURCE_TYPE,
                format!(
                    "{} {name} already exists and was not created by this stack's request; \
                     choose another name, or delete or import the existing one",
                    T::NAME_PROPERTY
                ),
            ));
        }
        tracing::info!(
            name,
            "adopting what an earlier delivery of this request created"
        );
        self.0.reconcile(&live, None, props).await
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
            Some(live) => self.0.reconcile(&live, old, new).await,
            None => {
                tracing::warn!(
                    name = physical_id,
                    "deleted outside CloudFormation; recreating it"
                );
                self.create_or_adopt(request, new).await
            }
        }
    }

    async fn delete(
        &self,
        _request: &Request,
        physical_id: &str,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        self.0.delete(physical_id, props).await
    }

    /// What the failed Create made, found by its name and request tag, follows the type's
    /// delete rules (so uat/prod log groups are still retained). Untaggable resources are left
    /// alone: nothing proves that the failed request made them.
    async fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        self.remove_made(props, |tags| made_by_request(tags, failed))
            .await
    }

    /// Any id, for a type whose resources cannot be tagged: a sweep could not tell what a
    /// cancelled Create made.
    fn is_own_id(&self, physical_id: &str, props: &T::Properties) -> bool {
        !T::TAGGABLE || physical_id == T::name(props)
    }

    /// The resource of that name, if this stack's logical resource made it (by its tags).
    async fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &T::Properties,
    ) -> Result<(), ResourceError> {
        self.remove_made(props, |tags| made_by_logical_resource(tags, cancelled))
            .await
    }
}

impl<T: NamedResource> Named<T> {
    /// Deletes the resource `props` name, under the type's delete rules, when its tags pass
    /// `made`.
    async fn remove_made(
        &self,
        props: &T::Properties,
        made: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> Result<(), ResourceError> {
        let name = T::name(props);
        let Some(live) = self.0.describe(name).await? else {
            return Ok(());
        };
        if !made(&self.0.owner_tags(&live).await?) {
            return Ok(());
        }
        tracing::info!(name, "removing what an unanswered Create made");
        self.0.delete(name, props).await
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
