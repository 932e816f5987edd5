//! The run ledger (DynamoDB, template `AuditRunsTable`): one item per run with the units still
//! pending, one per unit with its result. A unit's result and the run's count move together in
//! one transaction, so a retried unit is counted once, and the unit that brings the count to zero
//! (and claims it) writes the run's one summary.

use crate::fleet::Unit;
use crate::run_summary::UnitResult;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use shared::error::describe_aws_error;
use std::collections::HashMap;

/// The sort key of the run's own item.
const RUN_ITEM: &str = "#run";
/// Items expire a quarter after their run (the table's TimeToLiveSpecification).
const KEEP_SECONDS: i64 = 90 * 86_400;

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn expires() -> AttributeValue {
    n(aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs() + KEEP_SECONDS)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    Now,
    /// A retry of a unit whose result is already in.
    Before,
}

/// The run as its own item and its units' results say it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunState {
    pub started: String,
    pub total: usize,
    pub results: Vec<UnitResult>,
}

#[derive(Clone)]
pub struct Runs {
    dynamodb: Client,
    table: String,
}

impl Runs {
    pub fn new(dynamodb: Client, table: String) -> Self {
        Runs { dynamodb, table }
    }

    fn failed<E>(&self, call: &str, err: &E) -> String
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        format!("{call} on {}: {}", self.table, describe_aws_error(err))
    }

    /// Before the first unit is sent: the units it waits for.
    pub async fn start(&self, run: &str, started: &str, total: usize) -> Result<(), String> {
        self.dynamodb
            .put_item()
            .table_name(&self.table)
            .item("run", s(run))
            .item("unit", s(RUN_ITEM))
            .item("started", s(started))
            .item("total", n(total as i64))
            .item("pending", n(total as i64))
            .item("expires", expires())
            .condition_expression("attribute_not_exists(#run)")
            .expression_attribute_names("#run", "run")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutItem", &e))
    }

    /// The unit's result, and one unit fewer pending, together.
    pub async fn finish(&self, unit: &Unit, result: &UnitResult) -> Result<Counted, String> {
        let body = serde_json::to_string(result).map_err(|e| e.to_string())?;
        let put = Put::builder()
            .table_name(&self.table)
            .item("run", s(&unit.run))
            .item("unit", s(&unit.key()))
            .item("status", s(result.status.as_str()))
            .item("result", s(&body))
            .item("expires", expires())
            .condition_expression("attribute_not_exists(#status)")
            .expression_attribute_names("#status", "status")
            .build()
            .map_err(|e| e.to_string())?;
        let count = Update::builder()
            .table_name(&self.table)
            .key("run", s(&unit.run))
            .key("unit", s(RUN_ITEM))
            .update_expression("ADD pending :minus_one")
            .expression_attribute_values(":minus_one", n(-1))
            .build()
            .map_err(|e| e.to_string())?;
        let written = self
            .dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        match written {
            Ok(_) => Ok(Counted::Now),
            Err(err) => {
                // Cancelled by the condition: a retry after the count went through.
                if self
                    .item(&unit.run, &unit.key())
                    .await?
                    .contains_key("status")
                {
                    Ok(Counted::Before)
                } else {
                    Err(self.failed("TransactWriteItems", &err))
                }
            }
        }
    }

    /// What went wrong on a failed attempt, for the report should the unit be dead-lettered.
    pub async fn note_failure(&self, unit: &Unit, error: &str) -> Result<(), String> {
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("run", s(&unit.run))
            .key("unit", s(&unit.key()))
            .update_expression("SET lastError = :error, expires = :expires")
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":expires", expires())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("UpdateItem", &e))
    }

    pub async fn last_error(&self, unit: &Unit) -> Result<Option<String>, String> {
        let item = self.item(&unit.run, &unit.key()).await?;
        Ok(item.get("lastError").and_then(|v| v.as_s().ok()).cloned())
    }

    async fn item(&self, run: &str, unit: &str) -> Result<HashMap<String, AttributeValue>, String> {
        let answer = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("run", s(run))
            .key("unit", s(unit))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.failed("GetItem", &e))?;
        Ok(answer.item.unwrap_or_default())
    }

    /// True for exactly one caller, once no unit is pending.
    pub async fn claim_summary(&self, run: &str) -> Result<bool, String> {
        let claimed = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("run", s(run))
            .key("unit", s(RUN_ITEM))
            .update_expression("SET summarized = :yes")
            .condition_expression("pending <= :zero AND attribute_not_exists(summarized)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.failed("UpdateItem", &err)),
        }
    }

    /// The summary was not delivered: the next attempt may claim it again.
    pub async fn release_summary(&self, run: &str) -> Result<(), String> {
        self.dynamodb
            .update_item()
            .table_name(&self.table)
            .key("run", s(run))
            .key("unit", s(RUN_ITEM))
            .update_expression("REMOVE summarized")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("UpdateItem", &e))
    }

    /// The run's own item and every unit's result, paged.
    pub async fn state(&self, run: &str) -> Result<RunState, String> {
        let mut pages = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("#run = :run")
            .expression_attribute_names("#run", "run")
            .expression_attribute_values(":run", s(run))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut state = RunState::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.failed("Query", &e))?;
            for item in page.items() {
                let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
                if text("unit").as_deref() == Some(RUN_ITEM) {
                    state.started = text("started").unwrap_or_default();
                    state.total = item
                        .get("total")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                } else if let Some(body) = text("result") {
                    let result = serde_json::from_str(&body).map_err(|e| {
                        format!("the result of {:?} in {}: {e}", text("unit"), self.table)
                    })?;
                    state.results.push(result);
                }
            }
        }
        Ok(state)
    }
}
