//! The drift records: for each custom resource, the properties its provider last applied
//! successfully, in one DynamoDB table per account and Region (docs/architecture.md, "Drift").
//! The providers write a record after every successful Create and Update and remove it after a
//! Delete; `drift-detector` reads them all and compares each with the live resource.
//!
//! A record is keyed by stack and logical resource, so a replacement (a new physical id) updates
//! the same record, and CloudFormation's later Delete of the old id leaves it: the removal is
//! conditional on the physical id.

use crate::cfn::Request;
pub use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::HashMap;

/// The environment variable naming the table; without it nothing is recorded.
pub const TABLE_VARIABLE: &str = "RECORDS_TABLE";
/// The table's partition key: `<StackId>|<LogicalResourceId>`.
pub const KEY: &str = "ResourceKey";

/// One custom resource as its provider last applied it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub stack_id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// `ResourceProperties` as CloudFormation sent them, without `ServiceToken` and
    /// `ServiceTimeout` (CloudFormation's, not the resource's).
    pub properties: Value,
    pub recorded_at: String,
}

impl Record {
    /// What a successful Create or Update of `request` applied, under `physical_id`.
    pub fn of(request: &Request, physical_id: &str, recorded_at: String) -> Record {
        let mut properties = request.properties.clone();
        if let Some(map) = properties.as_object_mut() {
            for name in crate::props::IGNORED {
                map.remove(*name);
            }
        }
        Record {
            stack_id: request.stack_id.clone(),
            logical_id: request.logical_resource_id.clone(),
            resource_type: request.resource_type.clone(),
            physical_id: physical_id.to_owned(),
            properties,
            recorded_at,
        }
    }

    /// The Update this record stands for, as its provider would receive it: the dry run of
    /// drift detection, and what a repair applies.
    pub fn dry_run(&self) -> Request {
        Request::dry_run(
            &self.stack_id,
            &self.logical_id,
            &self.resource_type,
            &self.physical_id,
            self.properties.clone(),
        )
    }

    /// The recorded `Environment`, when it names one.
    pub fn environment(&self) -> Option<crate::Environment> {
        self.properties
            .get("Environment")
            .and_then(Value::as_str)
            .and_then(crate::Environment::parse)
    }

    pub fn key(&self) -> String {
        key(&self.stack_id, &self.logical_id)
    }

    /// The stack's name, read from its id (`arn:aws:cloudformation:…:stack/<name>/<uuid>`).
    pub fn stack_name(&self) -> &str {
        self.stack_id
            .split(":stack/")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or(&self.stack_id)
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let text = |value: &str| AttributeValue::S(value.to_owned());
        HashMap::from([
            (KEY.to_owned(), text(&self.key())),
            ("StackId".to_owned(), text(&self.stack_id)),
            ("LogicalResourceId".to_owned(), text(&self.logical_id)),
            ("ResourceType".to_owned(), text(&self.resource_type)),
            ("PhysicalResourceId".to_owned(), text(&self.physical_id)),
            ("Properties".to_owned(), text(&self.properties.to_string())),
            ("RecordedAt".to_owned(), text(&self.recorded_at)),
        ])
    }

    /// Reads an item back; `Err` names what is missing or malformed.
    pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Record, String> {
        let text = |name: &str| -> Result<String, String> {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| format!("record without {name}"))
        };
        let properties = text("Properties")?;
        Ok(Record {
            stack_id: text("StackId")?,
            logical_id: text("LogicalResourceId")?,
            resource_type: text("ResourceType")?,
            physical_id: text("PhysicalResourceId")?,
            properties: serde_json::from_str(&properties)
                .map_err(|err| format!("record with Properties that are not JSON: {err}"))?,
            recorded_at: text("RecordedAt").unwrap_or_default(),
        })
    }
}

pub fn key(stack_id: &str, logical_id: &str) -> String {
    format!("{stack_id}|{logical_id}")
}

#[derive(Debug, thiserror::Error)]
#[error("drift records in table {table}: {operation} failed: {detail}")]
pub struct RecordError {
    pub table: String,
    pub operation: &'static str,
    pub detail: String,
}

/// The table of records.
#[derive(Clone, Debug)]
pub struct Records {
    client: Client,
    table: String,
}

impl Records {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Records {
            client,
            table: table.into(),
        }
    }

    /// The table `RECORDS_TABLE` names, if any.
    pub fn from_env(config: &aws_config::SdkConfig) -> Option<Records> {
        let table = std::env::var(TABLE_VARIABLE).ok()?;
        let table = table.trim();
        (!table.is_empty()).then(|| Records::new(Client::new(config), table))
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn failed<E>(&self, operation: &'static str, err: &E) -> RecordError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        RecordError {
            table: self.table.clone(),
            operation,
            detail: crate::error::describe_aws_error(err),
        }
    }

    pub async fn put(&self, record: &Record) -> Result<(), RecordError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record.item()))
            .send()
            .await
            .map_err(|err| self.failed("PutItem", &err))?;
        Ok(())
    }

    /// The record of `stack_id`/`logical_id`, if there is one.
    pub async fn get(
        &self,
        stack_id: &str,
        logical_id: &str,
    ) -> Result<Option<Record>, RecordError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key(stack_id, logical_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| self.failed("GetItem", &err))?;
        match answer.item {
            None => Ok(None),
            Some(item) => Record::from_item(&item)
                .map(Some)
                .map_err(|detail| RecordError {
                    table: self.table.clone(),
                    operation: "GetItem",
                    detail,
                }),
        }
    }

    /// Removes the record of `stack_id`/`logical_id` if it is still for `physical_id`: the
    /// Delete of a replaced resource's old id leaves the new one's record.
    pub async fn remove(
        &self,
        stack_id: &str,
        logical_id: &str,
        physical_id: &str,
    ) -> Result<(), RecordError> {
        let removed = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(key(stack_id, logical_id)))
            .condition_expression("PhysicalResourceId = :id")
            .expression_attribute_values(":id", AttributeValue::S(physical_id.to_owned()))
            .send()
            .await;
        match removed {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(self.failed("DeleteItem", &err)),
        }
    }

    /// Every record in the table, with the items that could not be read (named by key).
    pub async fn all(&self) -> Result<(Vec<Record>, Vec<String>), RecordError> {
        let mut records = Vec::new();
        let mut unreadable = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| self.failed("Scan", &err))?;
            for item in page.items() {
                match Record::from_item(item) {
                    Ok(record) => records.push(record),
                    Err(err) => {
                        let key = item
                            .get(KEY)
                            .and_then(|v| v.as_s().ok())
                            .map_or("(no key)", String::as_str);
                        unreadable.push(format!("{key}: {err}"));
                    }
                }
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok((records, unreadable)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        Record {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/security-prod/1a2b"
                .to_owned(),
            logical_id: "AppKey".to_owned(),
            resource_type: "Custom::KmsKey".to_owned(),
            physical_id: "1234abcd".to_owned(),
            properties: json!({"Environment": "prod", "Tags": [{"Key": "a", "Value": "b"}]}),
            recorded_at: "2026-12-01T00:00:00Z".to_owned(),
        }
    }

    #[test]
    fn an_item_reads_back_as_the_record_it_was_made_from() {
        let record = record();
        assert_eq!(Record::from_item(&record.item()), Ok(record));
    }

    #[test]
    fn an_item_without_properties_names_what_is_missing() {
        let mut item = record().item();
        item.remove("Properties");
        assert_eq!(
            Record::from_item(&item),
            Err("record without Properties".to_owned())
        );
    }

    #[test]
    fn the_stack_name_is_read_from_the_stack_id() {
        assert_eq!(record().stack_name(), "security-prod");
        let bare = Record {
            stack_id: "local-stack".to_owned(),
            ..record()
        };
        assert_eq!(bare.stack_name(), "local-stack");
    }
}
