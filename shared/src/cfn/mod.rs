//! The custom-resource protocol, written once (docs/contract.md).
//!
//! A provider implements [`CustomResource`] for each of its types and [`Provider`] to route
//! between them. [`run`] does everything else: decoding, the deadline, panics, the response
//! size limit and the PUT to the ResponseURL.

mod drift;
mod event;
mod named;
mod owner;
#[cfg(feature = "records")]
pub mod repair;
mod response;
pub(crate) mod runner;
mod sender;

pub use drift::{DRY_RUN_REQUEST_ID, Drift, Drifted, detect, repairable};
pub use event::{Request, RequestType, redact_url};
pub use named::{
    Created, Named, NamedResource, made_by_logical_resource, made_by_request,
    made_lately_by_logical_resource,
};
pub use owner::{
    CANCELLED_CREATE_WINDOW, Claim, Owner, TAG_ENVIRONMENT, TAG_MADE_AT, stricter_environment,
};
pub use response::{MAX_RESPONSE_BYTES, ResponseBody, Status};
pub use runner::{guard_margin, run, run_provider};
pub use sender::send_response;

use crate::error::ResourceError;
use crate::props::{PropertyError, Props};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// Tag keys under this prefix belong to stackhand.
pub const TAG_PREFIX: &str = "stackhand:";
pub const TAG_STACK_ID: &str = "stackhand:stack-id";
pub const TAG_LOGICAL_ID: &str = "stackhand:logical-id";
pub const TAG_REQUEST_ID: &str = "stackhand:request-id";
pub const TAG_RETAINED_AT: &str = "stackhand:retained-at";

/// The physical id answered for a Create that failed. The Delete CloudFormation sends for it
/// during rollback always succeeds; it removes only what that Create left half-made (see
/// [`CustomResource::clean_up_failed_create`]).
pub const FAILED_CREATE_PREFIX: &str = "stackhand:create-failed:";

/// What a successful handler returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
    /// Hide `data` from `describe-stack-events` and the console.
    pub no_echo: bool,
}

impl Outcome {
    pub fn new(physical_resource_id: impl Into<String>) -> Self {
        Outcome {
            physical_resource_id: physical_resource_id.into(),
            ..Outcome::default()
        }
    }

    pub fn with(mut self, attribute: &str, value: impl Into<String>) -> Self {
        self.data.insert(attribute.to_owned(), value.into());
        self
    }
}

/// One `Custom::` type: typed properties and the three lifecycle calls. Implementations never
/// see the ResponseURL, the deadline or panics.
pub trait CustomResource: Sync {
    const RESOURCE_TYPE: &'static str;
    type Properties: Send + Sync;

    /// Reads every property this type knows from `props`; what is left over is unknown.
    fn decode(props: &mut Props) -> Result<Self::Properties, PropertyError>;

    fn create(
        &self,
        request: &Request,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<Outcome, ResourceError>> + Send;

    /// `old` is `None` when the previous properties no longer decode (a handler must cope with
    /// any property set it was ever deployed with). Return a new physical id to replace.
    fn update(
        &self,
        request: &Request,
        physical_id: &str,
        old: Option<&Self::Properties>,
        new: &Self::Properties,
    ) -> impl Future<Output = Result<Outcome, ResourceError>> + Send;

    fn delete(
        &self,
        request: &Request,
        physical_id: &str,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send;

    /// A Create that answered FAILED can have made part of its resource before AWS stopped
    /// answering. The rollback Delete of its marker id calls this with `failed`, that Create
    /// as it was sent: remove what carries its request tag, and nothing else. The default makes
    /// no AWS call, for types whose Create makes nothing until its last call.
    fn clean_up_failed_create(
        &self,
        failed: &Request,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send {
        let _ = (failed, props);
        async { Ok(()) }
    }

    /// Whether `physical_id` is one this type answers for `props`. A Delete carrying any other
    /// id is for a Create that CloudFormation cancelled before it answered (another resource
    /// of the stack failed), with an id CloudFormation made up; see
    /// [`CustomResource::clean_up_cancelled_create`]. The default claims every id.
    fn is_own_id(&self, physical_id: &str, props: &Self::Properties) -> bool {
        let _ = (physical_id, props);
        true
    }

    /// A cancelled Create may still be running in another instance of this function. Remove
    /// what carries `cancelled`'s stack and logical-resource tags and the names `props` give;
    /// called again and again until shortly before this Delete's deadline guard. The default
    /// makes no AWS call.
    fn clean_up_cancelled_create(
        &self,
        cancelled: &Request,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<(), ResourceError>> + Send {
        let _ = (cancelled, props);
        async { Ok(()) }
    }

    /// The dry run of an Update to `props` (the last applied properties): the type's plan
    /// against the live resource, nothing applied. `request` is a [`Request::dry_run`].
    fn drift(
        &self,
        request: &Request,
        physical_id: &str,
        props: &Self::Properties,
    ) -> impl Future<Output = Result<Drift, ResourceError>> + Send {
        let _ = (request, physical_id, props);
        async { Ok(Drift::Unchecked) }
    }
}

/// How long before the deadline guard the last sweep for a cancelled Create starts.
const LAST_SWEEP_BEFORE_GUARD: Duration = Duration::from_millis(1500);
/// How long before the deadline guard any sweep is cut short, leaving time to answer.
const SWEEP_STOP_BEFORE_GUARD: Duration = Duration::from_millis(250);
/// The longest pause between two sweeps.
const MAX_SWEEP_PAUSE: Duration = Duration::from_secs(8);

/// Sweeps for what a cancelled Create makes until it can make no more. That Create started
/// before this Delete was sent and has the same Lambda timeout, so its own deadline guard
/// fires before this one's: the last sweep runs just before this guard.
async fn sweep_cancelled_create<R: CustomResource>(
    resource: &R,
    request: &Request,
    props: &R::Properties,
) -> Result<(), ResourceError> {
    let last_sweep_at = request
        .guard_at
        .map(|guard| guard.checked_sub(LAST_SWEEP_BEFORE_GUARD).unwrap_or(guard));
    tracing::warn!(
        physical_id = request.physical_resource_id.as_deref().unwrap_or_default(),
        "Delete for a Create that CloudFormation cancelled; sweeping for what it makes"
    );
    let mut pause = Duration::from_millis(500);
    loop {
        // A failed sweep is retried by the next one; only the last one's error is answered.
        let sweep = resource.clean_up_cancelled_create(request, props);
        let swept = match request.guard_at {
            // Every sweep ends before the guard: a Delete answered FAILED would leave the stack
            // DELETE_FAILED, so a sweep that runs out of time answers with what it removed.
            Some(guard) => {
                let stop = guard.checked_sub(SWEEP_STOP_BEFORE_GUARD).unwrap_or(guard);
                match tokio::time::timeout_at(stop, sweep).await {
                    Ok(swept) => swept,
                    Err(_) => {
                        tracing::warn!(
                            physical_id =
                                request.physical_resource_id.as_deref().unwrap_or_default(),
                            "the sweep ran out of time; what the cancelled Create made after it may remain"
                        );
                        return Ok(());
                    }
                }
            }
            None => sweep.await,
        };
        let Some(last) = last_sweep_at else {
            return swept;
        };
        let now = tokio::time::Instant::now();
        if now >= last {
            return swept;
        }
        if let Err(err) = swept {
            tracing::warn!(error = %err, "sweep failed; trying again");
        }
        tokio::time::sleep_until((now + pause).min(last)).await;
        pause = (pause * 2).min(MAX_SWEEP_PAUSE);
    }
}

/// A Lambda function that serves one or more `Custom::` types.
pub trait Provider: Sync {
    /// The binary name, used in Reasons.
    const NAME: &'static str;
    const RESOURCE_TYPES: &'static [&'static str];

    /// Routes to the resource; [`run`] has already checked that the type is served.
    fn handle(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Outcome, ResourceError>> + Send;

    /// Where the runner records what each successful Create and Update applied (drift).
    #[cfg(feature = "records")]
    fn records(&self) -> Option<&crate::records::Records> {
        None
    }

    /// Routes a dry run ([`Request::dry_run`]) to the resource's [`CustomResource::drift`].
    fn drift(
        &self,
        request: &Request,
    ) -> impl Future<Output = Result<Drift, ResourceError>> + Send {
        let _ = request;
        async { Ok(Drift::Unchecked) }
    }
}

/// Decodes a property object completely: typed fields, then the unknown-property check.
pub fn decode_properties<R: CustomResource>(
    properties: &Value,
) -> Result<R::Properties, PropertyError> {
    let mut props = Props::new(R::RESOURCE_TYPE, properties)?;
    let decoded = R::decode(&mut props)?;
    props.finish()?;
    Ok(decoded)
}

/// Decodes the request's properties and calls the matching lifecycle method.
/// Decodes only what a Delete needs: types, not the value rules a newer release may have
/// tightened, so a stack made under older rules can still be deleted.
fn decode_for_delete<R: CustomResource>(
    properties: &Value,
) -> Result<R::Properties, PropertyError> {
    let mut props = Props::lenient(R::RESOURCE_TYPE, properties)?;
    R::decode(&mut props)
}

pub async fn serve<R: CustomResource>(
    resource: &R,
    request: &Request,
) -> Result<Outcome, ResourceError> {
    let props = match decode_properties::<R>(&request.properties) {
        Ok(props) => props,
        Err(err) if request.request_type == RequestType::Delete => {
            tracing::warn!(error = %err, "the properties no longer pass today's rules; deleting by the rules they were made under");
            decode_for_delete::<R>(&request.properties).map_err(|_| err)?
        }
        Err(err) => return Err(err.into()),
    };
    let physical_id = request.physical_resource_id.as_deref().unwrap_or_default();
    if let Some(failed_request_id) = physical_id.strip_prefix(FAILED_CREATE_PREFIX) {
        let failed = Request {
            request_type: RequestType::Create,
            request_id: failed_request_id.to_owned(),
            physical_resource_id: None,
            ..request.clone()
        };
        resource.clean_up_failed_create(&failed, &props).await?;
        return Ok(Outcome::new(physical_id));
    }
    match request.request_type {
        RequestType::Create => resource.create(request, &props).await,
        RequestType::Update => {
            let old = request
                .old_properties
                .as_ref()
                .and_then(|old| match decode_properties::<R>(old) {
                    Ok(decoded) => Some(decoded),
                    Err(err) => {
                        tracing::warn!(error = %err, "old properties no longer decode; updating from the live resource");
                        None
                    }
                });
            resource
                .update(request, physical_id, old.as_ref(), &props)
                .await
        }
        RequestType::Delete
            if !physical_id.is_empty() && !resource.is_own_id(physical_id, &props) =>
        {
            sweep_cancelled_create(resource, request, &props).await?;
            Ok(Outcome::new(physical_id))
        }
        RequestType::Delete => {
            resource.delete(request, physical_id, &props).await?;
            Ok(Outcome::new(physical_id))
        }
    }
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod sweep_tests;
