//! `Custom::QueryDefinition`: a saved Logs Insights query; physical id the QueryDefinitionId.
//! Definitions take no tags and names need not be unique: each Create makes its own, recorded
//! in the owner ledger ([`crate::owners`]). The properties and the Update plan here; the Logs
//! calls and the ledger rules in `query_definitions.rs`.

use shared::plan::{Plan, shown};
use shared::props::{LOG_GROUP_NAME_RULE, is_log_group_name, show};
use shared::{Environment, Problem, PropertyError, Props};

pub const TYPE: &str = "Custom::QueryDefinition";
pub const ATTRIBUTES: [&str; 2] = ["QueryDefinitionId", "Name"];
const MAX_QUERY: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct QueryProps {
    pub environment: Environment,
    pub name: String,
    pub query: String,
    pub log_group_names: Vec<String>,
}

pub fn decode(props: &mut Props) -> Result<QueryProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let name = props.required_valid_string("Name", "must be 1 to 255 characters", |n| {
        n.chars().count() <= 255
    })?;
    let query = props.required_string("QueryString")?;
    if query.len() > MAX_QUERY {
        return Err(props.error(
            "QueryString",
            Problem::Invalid {
                rule: format!("must be at most {MAX_QUERY} characters"),
                got: format!("{} characters", query.len()),
            },
        ));
    }
    let mut log_group_names = props
        .optional_string_list("LogGroupNames")?
        .unwrap_or_default();
    if let Some(bad) = log_group_names.iter().find(|g| !is_log_group_name(g)) {
        return Err(props.error(
            "LogGroupNames",
            Problem::Invalid {
                rule: LOG_GROUP_NAME_RULE.to_owned(),
                got: show(&serde_json::Value::String(bad.clone())),
            },
        ));
    }
    log_group_names.sort();
    log_group_names.dedup();
    Ok(QueryProps {
        environment,
        name,
        query,
        log_group_names,
    })
}

/// A definition as Logs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveQuery {
    pub id: String,
    pub name: String,
    pub query: String,
    /// Sorted.
    pub log_group_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// No definition under the id (deleted outside CloudFormation): a new one, with a new id.
    Create,
    /// PutQueryDefinition under the same id.
    Put,
}

/// What bringing the definition to `desired` takes.
pub fn plan(live: Option<&LiveQuery>, desired: &QueryProps) -> Plan<Step> {
    let mut plan = Plan::new();
    let Some(live) = live else {
        plan.compare(
            "QueryDefinitionId",
            shown(None),
            "a new definition",
            Step::Create,
        );
        return plan;
    };
    plan.compare("Name", &live.name, &desired.name, Step::Put);
    plan.compare("QueryString", &live.query, &desired.query, Step::Put);
    plan.compare(
        "LogGroupNames",
        live.log_group_names.join(", "),
        desired.log_group_names.join(", "),
        Step::Put,
    );
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> QueryProps {
        QueryProps {
            environment: Environment::Dev,
            name: "orders/errors".to_owned(),
            query: "fields @message | filter level = 'ERROR'".to_owned(),
            log_group_names: vec!["/app/a".to_owned(), "/app/b".to_owned()],
        }
    }

    fn live(props: &QueryProps) -> LiveQuery {
        LiveQuery {
            id: "q-1".to_owned(),
            name: props.name.clone(),
            query: props.query.clone(),
            log_group_names: props.log_group_names.clone(),
        }
    }

    #[test]
    fn a_definition_in_step_plans_nothing() {
        assert!(plan(Some(&live(&desired())), &desired()).is_empty());
    }

    #[test]
    fn each_property_that_differs_is_put_under_the_same_id() {
        let mut edited = live(&desired());
        edited.query = "fields @message".to_owned();
        edited.log_group_names.pop();
        let plan = plan(Some(&edited), &desired());
        assert_eq!(plan.properties(), ["QueryString", "LogGroupNames"]);
        assert!(plan.needs(&Step::Put) && !plan.needs(&Step::Create));
        assert_eq!(plan.changes[1].live, "/app/a");
        assert_eq!(plan.changes[1].desired, "/app/a, /app/b");
    }

    #[test]
    fn a_definition_gone_is_made_again() {
        let plan = plan(None, &desired());
        assert_eq!(plan.properties(), ["QueryDefinitionId"]);
        assert!(plan.needs(&Step::Create));
    }
}
