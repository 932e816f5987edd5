//! Who made a resource, and what a request may do to it: the one ownership rule
//! (docs/architecture.md, "Ownership").
//!
//! Every resource a provider makes records its owner: the stack, the logical resource, the
//! request that made it, the environment it was made for and when. A provider changes or
//! deletes an existing resource only when that record names the request's own stack and
//! logical resource. Taggable resources carry the record as tags; untaggable ones in a ledger
//! (monitoring-provider's `owners.rs`), read back in the same tag form.

use super::{Request, TAG_LOGICAL_ID, TAG_REQUEST_ID, TAG_STACK_ID};
use crate::error::ResourceError;
use crate::profile::Environment;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment a resource was made for: its protection never drops below that profile's.
pub const TAG_ENVIRONMENT: &str = "stackhand:environment";
/// When the resource was made, in Unix seconds.
pub const TAG_MADE_AT: &str = "stackhand:made-at";

/// How long before a Delete a cancelled Create can have started: the Lambda timeout (at most
/// 15 minutes) and Lambda's retries of an invocation that crashed, with room to spare.
pub const CANCELLED_CREATE_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The owner a resource records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_id: String,
    pub request_id: Option<String>,
    /// Absent on resources made before the environment was recorded.
    pub environment: Option<Environment>,
    /// Unix seconds; absent on resources made before it was recorded.
    pub made_at: Option<i64>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Owner {
    /// `request` as the owner of what it makes now, for `environment`.
    pub fn of(request: &Request, environment: Environment) -> Owner {
        Owner {
            stack_id: request.stack_id.clone(),
            logical_id: request.logical_resource_id.clone(),
            request_id: Some(request.request_id.clone()),
            environment: Some(environment),
            made_at: Some(now_secs()),
        }
    }

    /// The owner the tags record; `None` without a stack and logical id.
    pub fn from_tags(tags: &BTreeMap<String, String>) -> Option<Owner> {
        Some(Owner {
            stack_id: tags.get(TAG_STACK_ID)?.clone(),
            logical_id: tags.get(TAG_LOGICAL_ID)?.clone(),
            request_id: tags.get(TAG_REQUEST_ID).cloned(),
            environment: tags
                .get(TAG_ENVIRONMENT)
                .and_then(|e| Environment::parse(e)),
            made_at: tags.get(TAG_MADE_AT).and_then(|t| t.parse().ok()),
        })
    }

    /// The record as tags, the form every resource and the ledger keep it in.
    pub fn tags(&self) -> Vec<(String, String)> {
        let mut tags = vec![
            (TAG_STACK_ID.to_owned(), self.stack_id.clone()),
            (TAG_LOGICAL_ID.to_owned(), self.logical_id.clone()),
        ];
        if let Some(request_id) = &self.request_id {
            tags.push((TAG_REQUEST_ID.to_owned(), request_id.clone()));
        }
        if let Some(environment) = self.environment {
            tags.push((TAG_ENVIRONMENT.to_owned(), environment.as_str().to_owned()));
        }
        if let Some(made_at) = self.made_at {
            tags.push((TAG_MADE_AT.to_owned(), made_at.to_string()));
        }
        tags
    }

    /// For Reasons and logs: `resource Api of stack orders`.
    pub fn describe(&self) -> String {
        // arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
        let stack = self
            .stack_id
            .split(':')
            .nth(5)
            .and_then(|rest| rest.split('/').nth(1))
            .unwrap_or(&self.stack_id);
        format!("resource {} of stack {stack}", self.logical_id)
    }

    /// Whether it was made within `window` of now: what a cancelled Create could have made.
    pub fn made_within(&self, window: Duration) -> bool {
        self.made_at
            .is_some_and(|at| at >= now_secs() - window.as_secs() as i64)
    }
}

/// What a request may do with an existing resource, by the owner it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// An earlier delivery of this very request made it.
    ThisRequest(Owner),
    /// The request's stack and logical resource made it.
    ThisResource(Owner),
    /// Another stack, or another logical resource of this stack, made it.
    Other(Owner),
    /// Nothing records who made it: a person, another tool, or an untaggable resource made
    /// before the ledger existed.
    Unrecorded,
}

impl Claim {
    /// Reads the owner record (tags, or a ledger entry in tag form) against `request`.
    pub fn of(tags: &BTreeMap<String, String>, request: &Request) -> Claim {
        let Some(owner) = Owner::from_tags(tags) else {
            return Claim::Unrecorded;
        };
        if owner.stack_id != request.stack_id || owner.logical_id != request.logical_resource_id {
            return Claim::Other(owner);
        }
        if owner.request_id.as_deref() == Some(request.request_id.as_str()) {
            Claim::ThisRequest(owner)
        } else {
            Claim::ThisResource(owner)
        }
    }

    /// Whether the request may change or delete the resource.
    pub fn is_ours(&self) -> bool {
        matches!(self, Claim::ThisRequest(_) | Claim::ThisResource(_))
    }

    /// The environment the resource was made for, when recorded.
    pub fn made_for(&self) -> Option<Environment> {
        match self {
            Claim::ThisRequest(o) | Claim::ThisResource(o) | Claim::Other(o) => o.environment,
            Claim::Unrecorded => None,
        }
    }

    /// Who holds it, for Reasons and logs.
    pub fn holder(&self) -> String {
        match self {
            Claim::ThisRequest(o) | Claim::ThisResource(o) | Claim::Other(o) => o.describe(),
            Claim::Unrecorded => "no stackhand stack (it carries no owner record)".to_owned(),
        }
    }

    /// The Reason for a request that must not touch `what`: `LogGroupName /x is held by ...`.
    pub fn refusal(&self, resource_type: &'static str, what: &str, action: &str) -> ResourceError {
        ResourceError::refused(
            resource_type,
            format!(
                "{what} already exists and was not created by this stack's request: it belongs \
                 to {}, so this stack's resource cannot {action} it; choose another name, or \
                 delete or import the existing one",
                self.holder()
            ),
        )
    }

    /// Logs why a Delete leaves the resource in place; a Delete never fails for that.
    pub fn log_left_alone(&self, resource_type: &str, what: &str) {
        tracing::warn!(
            resource_type,
            resource = what,
            owner = self.holder(),
            "Delete left it in place: this stack's resource did not make it"
        );
    }
}

/// The environment whose protection applies, when the one a resource was made for is stricter
/// than the one the event names (a prod group moved to dev, or a forged dev Delete): then
/// retention, retain-on-delete and deletion windows come from at least that profile.
pub fn stricter_environment(
    made_for: Option<Environment>,
    asked: Environment,
) -> Option<Environment> {
    made_for.filter(|made| *made > asked)
}

#[cfg(test)]
#[path = "owner_tests.rs"]
mod tests;
