//! `Custom::Dashboard`: the body is checked before the call (it parses, `widgets` is a list,
//! every widget has a type). Dashboards are global to the account and stackhand does not tag
//! them, so who made one is kept in the owner ledger ([`crate::owners`]): a dashboard is
//! changed or deleted only when the ledger names this stack's logical resource.

use crate::owners::{Kind, Ledger};
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use serde_json::Value;
use shared::cfn::{Created, Drift, NamedResource, Outcome, Request};
use shared::cost::{Billed, Prices};
use shared::plan::Plan;
use shared::props::show;
use shared::{Environment, Problem, PropertyError, Props, ResourceError};
use std::collections::BTreeMap;

pub const TYPE: &str = "Custom::Dashboard";
pub const ATTRIBUTES: [&str; 2] = ["DashboardArn", shared::cost::ATTRIBUTE];

/// Each dashboard is billed monthly.
pub const DASHBOARD_BILLED: Billed = Billed {
    dashboards: 1,
    ..Billed::NONE
};

fn outcome(name: &str, arn: &str) -> Outcome {
    let [arn_attr, cost] = ATTRIBUTES;
    Outcome::new(name)
        .with(arn_attr, arn)
        .with(cost, DASHBOARD_BILLED.attribute(Prices::from_env()))
}
const MAX_WIDGETS: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct DashboardProps {
    pub environment: Environment,
    pub name: String,
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveDashboard {
    pub name: String,
    pub arn: String,
    pub body: Option<Value>,
}

/// The call that brings a live dashboard in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    PutDashboard,
}

/// What an Update would change: the body, compared as JSON (key order and whitespace, which
/// CloudWatch does not keep as given, never count). The name is the physical id.
pub fn plan(live: &LiveDashboard, desired: &DashboardProps) -> Plan<Step> {
    let mut plan = Plan::new();
    if live.body.as_ref() != Some(&desired.body) {
        let shown =
            |body: Option<&Value>| body.map_or_else(|| "(none)".to_owned(), Value::to_string);
        plan.compare(
            "DashboardBody",
            shown(live.body.as_ref()),
            shown(Some(&desired.body)),
            Step::PutDashboard,
        );
    }
    plan
}

pub fn is_dashboard_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a body: an object (or its JSON text) whose `widgets` is a list of objects with a
/// `type`. The error names the widget.
pub fn check_body(props: &Props, name: &str, body: Value) -> Result<Value, PropertyError> {
    let invalid = |rule: String, got: String| props.error(name, Problem::Invalid { rule, got });
    let body = match body {
        Value::String(text) => serde_json::from_str(&text).map_err(|e| {
            invalid(
                "must be a JSON dashboard body".to_owned(),
                format!("text that does not parse ({e})"),
            )
        })?,
        other => other,
    };
    let Some(widgets) = body.get("widgets") else {
        return Err(invalid(
            "must have a widgets list".to_owned(),
            if body.is_object() {
                "no widgets".to_owned()
            } else {
                show(&body)
            },
        ));
    };
    let Value::Array(widgets) = widgets else {
        return Err(invalid(
            "must have widgets as a list".to_owned(),
            show(widgets),
        ));
    };
    if widgets.len() > MAX_WIDGETS {
        return Err(invalid(
            format!("may hold at most {MAX_WIDGETS} widgets"),
            widgets.len().to_string(),
        ));
    }
    for (index, widget) in widgets.iter().enumerate() {
        if widget
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(invalid(
                format!(
                    "must give every widget a type (metric, text, log, alarm, explorer...); widgets[{index}] has none"
                ),
                show(widget),
            ));
        }
    }
    Ok(body)
}

pub fn decode(props: &mut Props) -> Result<DashboardProps, PropertyError> {
    let environment = Environment::decode(props)?;
    let name = props.required_valid_string(
        "DashboardName",
        "must be 1 to 255 letters, digits, '-' and '_'",
        is_dashboard_name,
    )?;
    let body = props
        .take("DashboardBody")
        .ok_or_else(|| props.error("DashboardBody", Problem::Missing))?;
    let body = check_body(props, "DashboardBody", body)?;
    Ok(DashboardProps {
        environment,
        name,
        body,
    })
}

pub struct Dashboards {
    pub cw: aws_sdk_cloudwatch::Client,
    /// The type errors are reported under: this one, or the baseline that writes it.
    pub resource_type: &'static str,
    pub ledger: Ledger,
}

impl Dashboards {
    pub async fn put(&self, name: &str, body: &Value) -> Result<(), ResourceError> {
        self.cw
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ResourceError::aws(self.resource_type, "PutDashboard", name, &e))
    }

    pub async fn get(&self, name: &str) -> Result<Option<LiveDashboard>, ResourceError> {
        match self.cw.get_dashboard().dashboard_name(name).send().await {
            Ok(out) => Ok(Some(LiveDashboard {
                name: name.to_owned(),
                arn: out.dashboard_arn().unwrap_or_default().to_owned(),
                body: out
                    .dashboard_body()
                    .and_then(|b| serde_json::from_str(b).ok()),
            })),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_dashboard_not_found_error()) =>
            {
                Ok(None)
            }
            Err(err) => Err(ResourceError::aws(
                self.resource_type,
                "GetDashboard",
                name,
                &err,
            )),
        }
    }

    pub async fn delete(&self, names: &[String]) -> Result<(), ResourceError> {
        for name in names {
            let sent = self
                .cw
                .delete_dashboards()
                .dashboard_names(name)
                .send()
                .await;
            // Not modeled for DeleteDashboards; AWS and moto name it in the code.
            let gone = |err: &_| {
                ProvideErrorMetadata::code(err).is_some_and(|c: &str| c.contains("NotFound"))
            };
            shared::error::deleted(sent, gone, self.resource_type, "DeleteDashboards", name)?;
        }
        Ok(())
    }

    /// Writes the dashboard `name` for `request`'s logical resource: a new one is recorded
    /// first, an existing one must be recorded as this resource's. `legacy` is the body this
    /// resource wrote before the ledger existed: an unrecorded dashboard with exactly that body
    /// is recorded as its own. Anyone else's dashboard fails the request, naming its owner.
    pub async fn put_owned(
        &self,
        request: &Request,
        environment: Environment,
        name: &str,
        body: &Value,
        legacy: Option<&Value>,
    ) -> Result<(), ResourceError> {
        let what = format!("dashboard {name}");
        match self.get(name).await? {
            None => {
                self.ledger
                    .claim(request, environment, Kind::Dashboard, name, &what)
                    .await?;
            }
            Some(live) => {
                let made_before_ledger = legacy.is_some() && live.body.as_ref() == legacy;
                self.ledger
                    .hold_existing(
                        request,
                        environment,
                        Kind::Dashboard,
                        name,
                        &what,
                        made_before_ledger,
                    )
                    .await?;
                if live.body.as_ref() == Some(body) {
                    return Ok(());
                }
            }
        }
        self.put(name, body).await
    }

    /// Deletes those of `names` the ledger gives to `request`'s logical resource, and their
    /// records; any other dashboard of those names stays.
    pub async fn delete_owned(
        &self,
        request: &Request,
        names: &[String],
    ) -> Result<(), ResourceError> {
        for name in names {
            if !self.ledger.is_ours(request, Kind::Dashboard, name).await? {
                if self.get(name).await?.is_some() {
                    tracing::warn!(
                        dashboard = name,
                        "left in place: the owner ledger does not give it to this resource"
                    );
                }
                continue;
            }
            self.delete(std::slice::from_ref(name)).await?;
            self.ledger.release(request, Kind::Dashboard, name).await?;
        }
        Ok(())
    }

    async fn outcome(&self, name: &str) -> Result<Outcome, ResourceError> {
        let live = self.get(name).await?.ok_or_else(|| {
            ResourceError::refused(
                self.resource_type,
                format!("PutDashboard for {name} left no dashboard"),
            )
        })?;
        Ok(outcome(name, &live.arn))
    }
}

impl NamedResource for Dashboards {
    const RESOURCE_TYPE: &'static str = TYPE;
    const NAME_PROPERTY: &'static str = "DashboardName";
    const TAGGABLE: bool = false;
    type Properties = DashboardProps;
    type Live = LiveDashboard;

    fn decode(props: &mut Props) -> Result<DashboardProps, PropertyError> {
        decode(props)
    }

    fn name(props: &DashboardProps) -> &str {
        &props.name
    }

    async fn describe(&self, name: &str) -> Result<Option<LiveDashboard>, ResourceError> {
        self.get(name).await
    }

    fn identical(&self, live: &LiveDashboard, props: &DashboardProps) -> bool {
        live.body.as_ref() == Some(&props.body)
    }

    async fn owner_tags(
        &self,
        live: &LiveDashboard,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        self.ledger.owner_tags(Kind::Dashboard, &live.name).await
    }

    /// Recorded first: of two stacks creating one name, the ledger lets exactly one write it.
    async fn create(
        &self,
        request: &Request,
        props: &DashboardProps,
    ) -> Result<Created<LiveDashboard>, ResourceError> {
        if let Some(existing) = self.get(&props.name).await? {
            return Ok(Created::Exists(existing));
        }
        self.record_owner(request, props).await?;
        self.put(&props.name, &props.body).await?;
        Ok(Created::New(self.outcome(&props.name).await?))
    }

    async fn record_owner(
        &self,
        request: &Request,
        props: &DashboardProps,
    ) -> Result<(), ResourceError> {
        let what = format!("{} {}", Self::NAME_PROPERTY, props.name);
        self.ledger
            .claim(
                request,
                props.environment,
                Kind::Dashboard,
                &props.name,
                &what,
            )
            .await
    }

    async fn forget_owner(&self, request: &Request, name: &str) -> Result<(), ResourceError> {
        self.ledger.release(request, Kind::Dashboard, name).await
    }

    async fn reconcile(
        &self,
        live: &LiveDashboard,
        _old: Option<&DashboardProps>,
        new: &DashboardProps,
    ) -> Result<Outcome, ResourceError> {
        let plan = plan(live, new);
        if plan.needs(&Step::PutDashboard) {
            tracing::info!(dashboard = %new.name, "updating the body");
            self.put(&new.name, &new.body).await?;
        }
        Ok(outcome(&new.name, &live.arn))
    }

    async fn drift(
        &self,
        live: &LiveDashboard,
        _owner_tags: &BTreeMap<String, String>,
        props: &DashboardProps,
    ) -> Result<Drift, ResourceError> {
        Ok(Drift::of(&plan(live, props)))
    }

    async fn delete(&self, name: &str, _props: &DashboardProps) -> Result<(), ResourceError> {
        self.delete(&[name.to_owned()]).await
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;
    use serde_json::json;

    fn props(body: Value) -> DashboardProps {
        DashboardProps {
            environment: Environment::Dev,
            name: "ops".to_owned(),
            body,
        }
    }

    fn live(text: &str) -> LiveDashboard {
        LiveDashboard {
            name: "ops".to_owned(),
            arn: "arn:aws:cloudwatch::123456789012:dashboard/ops".to_owned(),
            body: Some(serde_json::from_str(text).expect("json")),
        }
    }

    #[test]
    fn key_order_and_whitespace_are_not_drift() {
        let desired =
            props(json!({"widgets": [{"type": "text", "x": 0, "properties": {"markdown": "hi"}}]}));
        let stored =
            r#"{ "widgets" : [ { "properties": {"markdown":"hi"}, "x": 0, "type": "text" } ] }"#;
        assert!(plan(&live(stored), &desired).is_empty());
    }

    #[test]
    fn a_body_edited_by_hand_is_planned_back() {
        let desired =
            props(json!({"widgets": [{"type": "text", "properties": {"markdown": "hi"}}]}));
        let edited = r#"{"widgets": [{"type": "text", "properties": {"markdown": "changed"}}]}"#;
        let plan = plan(&live(edited), &desired);
        assert_eq!(plan.properties(), ["DashboardBody"]);
        assert!(plan.changes[0].live.contains("changed"));
        assert_eq!(plan.changes[0].step, Step::PutDashboard);
    }
}
