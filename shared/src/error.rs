//! Errors a resource handler returns. Their Display text becomes the CloudFormation Reason, so
//! each one names the resource type and what the user can change.

use crate::props::PropertyError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// A property failed to decode or validate.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// An AWS call failed; `detail` carries the service's code and message.
    #[error("{resource_type}: {operation} for {target} failed: {detail}")]
    Aws {
        resource_type: &'static str,
        operation: &'static str,
        target: String,
        detail: String,
    },
    /// The request is well-formed but cannot be carried out safely.
    #[error("{resource_type}: {message}")]
    Refused {
        resource_type: &'static str,
        message: String,
    },
    /// The event names a resource type this function does not serve.
    #[error("{provider} serves {served}; it cannot handle ResourceType {got}")]
    UnsupportedType {
        provider: &'static str,
        served: String,
        got: String,
    },
}

impl ResourceError {
    pub fn aws<E>(
        resource_type: &'static str,
        operation: &'static str,
        target: impl Into<String>,
        err: &E,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        ResourceError::Aws {
            resource_type,
            operation,
            target: target.into(),
            detail: describe_aws_error(err),
        }
    }

    /// The answer for a `ResourceType` that [`crate::cfn::Provider::handle`] does not route.
    pub fn unsupported<P: crate::cfn::Provider>(request: &crate::cfn::Request) -> Self {
        ResourceError::UnsupportedType {
            provider: P::NAME,
            served: P::RESOURCE_TYPES.join(", "),
            got: request.resource_type.clone(),
        }
    }

    pub fn refused(resource_type: &'static str, message: impl Into<String>) -> Self {
        ResourceError::Refused {
            resource_type,
            message: message.into(),
        }
    }
}

/// `code: message` when the service sent one; otherwise the cause chain, because a bare SDK
/// error prints only "service error" or "dispatch failure". Each cause once, and without the
/// Debug dump `DisplayErrorContext` appends: a Reason is read by people, in 4,096 bytes.
/// The answer of an idempotent delete: done when the call succeeded or `not_found` says the
/// resource was already gone; otherwise the error, naming the type, operation and target.
pub fn deleted<T, E>(
    result: Result<T, E>,
    not_found: impl FnOnce(&E) -> bool,
    resource_type: &'static str,
    operation: &'static str,
    target: &str,
) -> Result<(), ResourceError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(err) if not_found(&err) => Ok(()),
        Err(err) => Err(ResourceError::aws(resource_type, operation, target, &err)),
    }
}

pub fn describe_aws_error<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => cause_chain(err),
    }
}

/// `outer: inner: root`, skipping a cause whose text an outer one already shows.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

/// Why an invocation could not be answered through the custom-resource protocol at all.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("not a CloudFormation custom-resource event: {0}")]
    NotCustomResourceEvent(String),
    #[error("the response could not be delivered to CloudFormation: {0}")]
    ResponseNotDelivered(String),
    /// A drift repair that may not be made (`shared::cfn::repairable`, or no record).
    #[error("drift repair refused: {0}")]
    RepairRefused(String),
    #[error("drift repair failed: {0}")]
    RepairFailed(String),
}

impl From<InvocationError> for Diagnostic {
    fn from(err: InvocationError) -> Diagnostic {
        let error_type = match err {
            InvocationError::NotCustomResourceEvent(_) => "Stackhand.NotCustomResourceEvent",
            InvocationError::ResponseNotDelivered(_) => "Stackhand.ResponseNotDelivered",
            InvocationError::RepairRefused(_) => "Stackhand.RepairRefused",
            InvocationError::RepairFailed(_) => "Stackhand.RepairFailed",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cause_chain;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    fn chain(texts: &[&'static str]) -> Layer {
        texts
            .iter()
            .rev()
            .fold(None, |source, text| {
                Some(Layer {
                    text,
                    source: source.map(Box::new),
                })
            })
            .expect("at least one layer")
    }

    #[test]
    fn a_transport_failure_reads_as_its_causes_each_once_without_debug_text() {
        let err = chain(&[
            "dispatch failure",
            "other: client error (Connect)",
            "client error (Connect)",
            "Connection refused (os error 111)",
        ]);
        assert_eq!(
            cause_chain(&err),
            "dispatch failure: other: client error (Connect): Connection refused (os error 111)"
        );
    }
}
