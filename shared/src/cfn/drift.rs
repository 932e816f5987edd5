//! Drift: what an Update with a resource's last applied properties would change on the live
//! resource, read from the type's own plan and nothing applied. Detection and the Update's
//! apply cannot disagree about what "in step" means, because they are the same plan.

use super::{CustomResource, Request, RequestType, decode_properties};
use crate::error::ResourceError;
use crate::plan::Plan;
use serde::Serialize;

/// The `RequestId` of a dry run: no owner record ever carries it.
pub const DRY_RUN_REQUEST_ID: &str = "stackhand:drift-detector";

/// One property whose live value is not the applied one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drifted {
    pub property: String,
    pub desired: String,
    pub live: String,
}

/// How a live resource compares with what its stack last applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    InStep,
    Drifted(Vec<Drifted>),
    /// The resource no longer exists.
    Deleted,
    /// Its owner record names someone else: `who` is that owner, as a person reads it.
    Foreign(String),
    /// The type has no dry run.
    Unchecked,
}

impl Drift {
    /// The changes of `plan`, as drift.
    pub fn of<S: PartialEq>(plan: &Plan<S>) -> Drift {
        if plan.is_empty() {
            return Drift::InStep;
        }
        Drift::Drifted(
            plan.changes
                .iter()
                .map(|change| Drifted {
                    property: change.property.to_owned(),
                    desired: change.desired.clone(),
                    live: change.live.clone(),
                })
                .collect(),
        )
    }

    /// Several parts of one resource (the keys of a key set, the alarms of a baseline), each
    /// property named under its part: `AppKey.EnableKeyRotation`.
    pub fn of_parts(parts: Vec<(String, Drift)>) -> Drift {
        let mut drifted = Vec::new();
        for (part, drift) in parts {
            match drift {
                Drift::InStep | Drift::Unchecked => {}
                Drift::Drifted(properties) => {
                    drifted.extend(properties.into_iter().map(|d| Drifted {
                        property: format!("{part}.{}", d.property),
                        ..d
                    }))
                }
                Drift::Deleted => drifted.push(Drifted {
                    property: part,
                    desired: "exists".to_owned(),
                    live: "(deleted)".to_owned(),
                }),
                Drift::Foreign(who) => drifted.push(Drifted {
                    property: part,
                    desired: "owned by this stack".to_owned(),
                    live: format!("owned by {who}"),
                }),
            }
        }
        if drifted.is_empty() {
            Drift::InStep
        } else {
            Drift::Drifted(drifted)
        }
    }

    /// The state word reports use.
    pub fn status(&self) -> &'static str {
        match self {
            Drift::InStep => "IN_SYNC",
            Drift::Drifted(_) => "MODIFIED",
            Drift::Deleted => "DELETED",
            Drift::Foreign(_) => "NOT_OWNED",
            Drift::Unchecked => "NOT_CHECKED",
        }
    }
}

/// Types whose resource, made again, gets an id the stack does not know (a new key id, a new
/// query definition id): a repair never recreates them.
const NEW_ID_WHEN_MADE_AGAIN: [&str; 2] = ["Custom::KmsKey", "Custom::QueryDefinition"];

/// Whether a repair may put `drift` back: properties changed by hand, yes; a resource someone
/// else owns, never; a deleted one only in dev and qa, and only when it comes back under the id
/// the stack holds. `environment` is the recorded `Environment` (unknown counts as prod).
pub fn repairable(
    resource_type: &str,
    environment: Option<crate::Environment>,
    drift: &Drift,
) -> Result<(), String> {
    use crate::Environment;
    match drift {
        Drift::Drifted(_) => Ok(()),
        Drift::InStep => Err("it is in sync; there is nothing to repair".to_owned()),
        Drift::Unchecked => Err(format!("{resource_type} has no dry run to repair from")),
        Drift::Foreign(who) => Err(format!(
            "it is owned by {who}; a repair never touches what this stack did not make"
        )),
        Drift::Deleted => match environment {
            Some(Environment::Dev | Environment::Qa)
                if !NEW_ID_WHEN_MADE_AGAIN.contains(&resource_type) =>
            {
                Ok(())
            }
            Some(Environment::Dev | Environment::Qa) => Err(format!(
                "it was deleted, and a new {resource_type} would get an id the stack does not know; update the stack to create it again"
            )),
            other => Err(format!(
                "it was deleted in {}: a repair never recreates a uat or prod resource; update the stack to create it again",
                other.map_or("an unknown environment", |e| e.as_str())
            )),
        },
    }
}

impl Request {
    /// The Update a dry run stands for: the recorded properties as both old and new.
    pub fn dry_run(
        stack_id: &str,
        logical_id: &str,
        resource_type: &str,
        physical_id: &str,
        properties: serde_json::Value,
    ) -> Request {
        Request {
            request_type: RequestType::Update,
            request_id: DRY_RUN_REQUEST_ID.to_owned(),
            stack_id: stack_id.to_owned(),
            logical_resource_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            physical_resource_id: Some(physical_id.to_owned()),
            old_properties: Some(properties.clone()),
            properties,
            response_url: String::new(),
            guard_at: None,
        }
    }
}

/// Decodes a dry run's properties by today's rules and asks the type for its drift.
pub async fn detect<R: CustomResource>(
    resource: &R,
    request: &Request,
) -> Result<Drift, ResourceError> {
    let props = decode_properties::<R>(&request.properties)?;
    let physical_id = request.physical_resource_id.as_deref().unwrap_or_default();
    resource.drift(request, physical_id, &props).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Environment;

    #[test]
    fn a_repair_puts_back_changes_and_recreates_only_in_dev_and_qa_under_the_same_id() {
        let changed = Drift::Drifted(vec![]);
        for env in [None, Some(Environment::Dev), Some(Environment::Prod)] {
            assert_eq!(repairable("Custom::LogGroup", env, &changed), Ok(()));
        }
        let deleted = Drift::Deleted;
        assert_eq!(
            repairable("Custom::LogGroup", Some(Environment::Qa), &deleted),
            Ok(())
        );
        for env in [None, Some(Environment::Uat), Some(Environment::Prod)] {
            let refused = repairable("Custom::LogGroup", env, &deleted).expect_err("refused");
            assert!(
                refused.contains("never recreates a uat or prod"),
                "{refused}"
            );
        }
        let new_id = repairable("Custom::KmsKey", Some(Environment::Dev), &deleted);
        assert!(
            new_id
                .expect_err("refused")
                .contains("an id the stack does not know")
        );
        let foreign = Drift::Foreign("stack other".to_owned());
        assert!(repairable("Custom::LogGroup", Some(Environment::Dev), &foreign).is_err());
        assert!(repairable("Custom::LogGroup", Some(Environment::Dev), &Drift::InStep).is_err());
    }

    #[derive(Debug, PartialEq)]
    enum Step {
        Put,
    }

    #[test]
    fn an_empty_plan_is_in_step_and_each_change_is_one_drifted_property() {
        let mut plan = Plan::new();
        assert_eq!(Drift::of(&plan), Drift::InStep);
        plan.compare("RetentionInDays", "7", "365", Step::Put);
        assert_eq!(
            Drift::of(&plan),
            Drift::Drifted(vec![Drifted {
                property: "RetentionInDays".to_owned(),
                desired: "365".to_owned(),
                live: "7".to_owned(),
            }])
        );
    }

    #[test]
    fn parts_name_their_properties_and_a_missing_part_is_drift() {
        let mut plan = Plan::new();
        plan.compare("EnableKeyRotation", "false", "true", Step::Put);
        let drift = Drift::of_parts(vec![
            ("AppKey".to_owned(), Drift::of(&plan)),
            ("DataKey".to_owned(), Drift::Deleted),
            ("LogKey".to_owned(), Drift::InStep),
        ]);
        let Drift::Drifted(properties) = drift else {
            panic!("expected drift, got {drift:?}");
        };
        let names: Vec<&str> = properties.iter().map(|d| d.property.as_str()).collect();
        assert_eq!(names, ["AppKey.EnableKeyRotation", "DataKey"]);
        assert_eq!(properties[1].live, "(deleted)");
        assert_eq!(
            Drift::of_parts(vec![("AppKey".to_owned(), Drift::InStep)]),
            Drift::InStep
        );
    }
}
