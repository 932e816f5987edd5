//! The custom-resource protocol, written once (DESIGN.md §2).
//!
//! A provider implements [`CustomResource`] for each of its types and [`Provider`] to route
//! between them. [`run`] does everything else: decoding, the deadline, panics, the response
//! size limit and the PUT to the ResponseURL.

mod event;
mod named;
mod response;
pub(crate) mod runner;
mod sender;

pub use event::{Request, RequestType, redact_url};
pub use named::{Created, Named, NamedResource};
pub use response::{MAX_RESPONSE_BYTES, ResponseBody, Status};
pub use runner::{guard_margin, run, run_provider};
pub use sender::send_response;

use crate::error::ResourceError;
use crate::props::{PropertyError, Props};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;

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
pub async fn serve<R: CustomResource>(
    resource: &R,
    request: &Request,
) -> Result<Outcome, ResourceError> {
    let props = decode_properties::<R>(&request.properties)?;
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
        RequestType::Delete => {
            resource.delete(request, physical_id, &props).await?;
            Ok(Outcome::new(physical_id))
        }
    }
}
