//! The KMS calls both resource types make, each turned into a `ResourceError` that names the
//! resource type, the operation and the key. The client is private: every call is here, in
//! `keys.rs` (reading a key whole, and the writes a plan's steps make) or in `grants.rs`.

mod grants;
mod keys;

use keys::target;
pub use keys::{NewKey, replica_arns};

use aws_config::SdkConfig;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::Region;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeyMetadata, KeyState, Tag};
use shared::ResourceError;
use shared::cfn::{CANCELLED_CREATE_WINDOW, Request, TAG_LOGICAL_ID, TAG_REQUEST_ID, TAG_STACK_ID};
use shared::kms_scan;
use std::collections::BTreeMap;

/// How many ListResourceTags calls run at once when looking for a request's key.
const TAG_SCAN_CONCURRENCY: usize = 8;

#[derive(Clone)]
pub struct KeyStore {
    kms: Client,
    config: SdkConfig,
    pub resource_type: &'static str,
    sts: aws_sdk_sts::Client,
    /// The account this function's credentials make keys in, read once.
    own_account: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// Who holds an alias that a key wants.
#[derive(Debug, PartialEq, Eq)]
pub enum AliasHolder {
    Free,
    /// A key made by an earlier delivery of this same request.
    ThisRequest(String),
    /// A key of this stack's same logical resource (the key being replaced).
    SameResource(String),
    Other {
        key_id: String,
        why: String,
    },
}

pub type Tags = BTreeMap<String, String>;

pub fn is_gone(state: Option<&KeyState>) -> bool {
    matches!(
        state,
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

impl KeyStore {
    pub fn new(config: &SdkConfig, resource_type: &'static str) -> Self {
        KeyStore {
            kms: Client::new(config),
            config: config.clone(),
            resource_type,
            sts: aws_sdk_sts::Client::new(config),
            own_account: Default::default(),
        }
    }

    pub fn err<E>(&self, operation: &'static str, target: &str, err: &E) -> ResourceError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        ResourceError::aws(self.resource_type, operation, target, err)
    }

    pub fn refused(&self, message: impl Into<String>) -> ResourceError {
        ResourceError::refused(self.resource_type, message)
    }

    /// Fails when the stack is in another account than the one this function makes keys in
    /// (a cross-account ServiceToken): the key would be made here with a policy naming the
    /// stack's account root, which KMS refuses as a lockout.
    pub async fn check_account(&self, stack_account: &str) -> Result<(), ResourceError> {
        let own = self
            .own_account
            .get_or_try_init(|| async {
                self.sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map(|out| out.account.unwrap_or_default())
                    .map_err(|e| self.err("GetCallerIdentity", "this function's account", &e))
            })
            .await?;
        if !own.is_empty() && own != stack_account {
            return Err(self.refused(format!(
                "the stack is in account {stack_account} but kms-provider makes keys in account \
                 {own}: a key's policy must name the account that holds it. Deploy stackhand in \
                 {stack_account} and use its ServiceToken, or create the key in a stack of {own}"
            )));
        }
        Ok(())
    }

    /// The primary's client, or one for a replica's Region (same credentials and endpoint).
    fn client(&self, region: Option<&str>) -> Client {
        match region {
            None => self.kms.clone(),
            Some(region) => {
                let config = aws_sdk_kms::config::Builder::from(&self.config)
                    .region(Region::new(region.to_owned()))
                    .build();
                Client::from_conf(config)
            }
        }
    }

    /// The key, or `None` when KMS does not know it. `key` may be an id or `alias/..`.
    pub async fn describe(&self, key: &str) -> Result<Option<KeyMetadata>, ResourceError> {
        match self.kms.describe_key().key_id(key).send().await {
            Ok(out) => Ok(out.key_metadata),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(self.err("DescribeKey", key, &err)),
        }
    }

    pub async fn tags(&self, key_id: &str) -> Result<Tags, ResourceError> {
        kms_scan::tags(&self.kms, key_id)
            .await
            .map_err(|e| e.for_resource(self.resource_type))
    }

    /// Decides whether `alias` may be given to the key this request makes.
    pub async fn alias_holder(
        &self,
        request: &Request,
        alias: &str,
    ) -> Result<AliasHolder, ResourceError> {
        let Some(key) = self.describe(alias).await? else {
            return Ok(AliasHolder::Free);
        };
        let key_id = key.key_id().to_owned();
        let tags = self.tags(&key_id).await?;
        let tag = |k: &str| tags.get(k).map(String::as_str);
        if tag(TAG_REQUEST_ID) == Some(request.request_id.as_str()) && !is_gone(key.key_state()) {
            return Ok(AliasHolder::ThisRequest(key_id));
        }
        if tag(TAG_STACK_ID) == Some(request.stack_id.as_str())
            && tag(TAG_LOGICAL_ID) == Some(request.logical_resource_id.as_str())
        {
            return Ok(AliasHolder::SameResource(key_id));
        }
        let why = match tag(shared::cfn::TAG_RETAINED_AT) {
            Some(date) => format!("a key retained on {date} when its stack was deleted; reuse it by importing it, or choose another alias"),
            None => "a key this stack's resource did not create; choose another alias, or move it away first".to_owned(),
        };
        Ok(AliasHolder::Other { key_id, why })
    }

    /// The live key `alias` names, if `request`'s stack and logical resource made it within the
    /// last [`CANCELLED_CREATE_WINDOW`]: what a Create CloudFormation cancelled could have made.
    /// An older key of the same logical resource (one a replacement is moving away from) is
    /// never taken for it.
    pub async fn made_lately_by_logical_resource(
        &self,
        request: &Request,
        alias: &str,
    ) -> Result<Option<String>, ResourceError> {
        let Some(key) = self.describe(alias).await? else {
            return Ok(None);
        };
        let made_at = key.creation_date().map(|d| d.secs()).unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if is_gone(key.key_state()) || made_at < now - CANCELLED_CREATE_WINDOW.as_secs() as i64 {
            return Ok(None);
        }
        let tags = self.tags(key.key_id()).await?;
        Ok(shared::cfn::made_by_logical_resource(&tags, request).then(|| key.key_id().to_owned()))
    }

    /// The live key an earlier delivery of this request created, found by its request tag.
    /// This scans the account's keys, so it is used only for keys without aliases.
    pub async fn find_by_request_tag(
        &self,
        request: &Request,
    ) -> Result<Option<String>, ResourceError> {
        Ok(self.made_by(request).await?.into_iter().next())
    }

    /// Every live key `request` created (its stack and request tags), scanning the account.
    pub async fn made_by(&self, request: &Request) -> Result<Vec<String>, ResourceError> {
        let ids = kms_scan::key_ids(&self.kms)
            .await
            .map_err(|e| e.for_resource(self.resource_type))?;
        let (stack_id, request_id) = (request.stack_id.clone(), request.request_id.clone());
        let tagged = kms_scan::bounded(ids, TAG_SCAN_CONCURRENCY, |id| {
            let (kms, stack_id, request_id) =
                (self.kms.clone(), stack_id.clone(), request_id.clone());
            async move {
                // A key we may not read (another service's) is not ours.
                let tags = kms_scan::tags(&kms, &id).await.unwrap_or_default();
                let ours = tags.get(TAG_REQUEST_ID) == Some(&request_id)
                    && tags.get(TAG_STACK_ID) == Some(&stack_id);
                ours.then_some(id)
            }
        })
        .await;
        let mut made = Vec::new();
        for id in tagged.into_iter().flatten() {
            let live = self.describe(&id).await?;
            if live.is_some_and(|k| !is_gone(k.key_state())) {
                made.push(id);
            }
        }
        Ok(made)
    }

    /// The aliases that point at `key_id`.
    pub async fn aliases_of(&self, key_id: &str) -> Result<Vec<String>, ResourceError> {
        let entries = shared::kms_items!(
            self.kms.list_aliases().key_id(key_id),
            "ListAliases",
            key_id
        )
        .map_err(|e| e.for_resource(self.resource_type))?;
        Ok(entries
            .into_iter()
            .filter(|a| a.target_key_id.as_deref() == Some(key_id))
            .filter_map(|a| a.alias_name)
            .collect())
    }

    /// Points `alias` at `key_id`: a new alias, or one moved from the key being replaced.
    pub async fn point_alias(
        &self,
        alias: &str,
        key_id: &str,
        holder: &AliasHolder,
    ) -> Result<(), ResourceError> {
        match holder {
            AliasHolder::Free => self
                .kms
                .create_alias()
                .alias_name(alias)
                .target_key_id(key_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("CreateAlias", alias, &e)),
            AliasHolder::ThisRequest(holder) | AliasHolder::SameResource(holder)
                if holder == key_id =>
            {
                Ok(())
            }
            AliasHolder::ThisRequest(_) | AliasHolder::SameResource(_) => {
                self.move_alias(alias, key_id).await
            }
            AliasHolder::Other { key_id: other, why } => Err(self.alias_taken(alias, other, why)),
        }
    }

    pub fn alias_taken(&self, alias: &str, holder: &str, why: &str) -> ResourceError {
        self.refused(format!(
            "Aliases: {alias} already names key {holder}, {why}"
        ))
    }

    /// Schedules deletion; a key already pending deletion or gone is a success. The only call
    /// site of ScheduleKeyDeletion (checked by tests/lint): a window under 7 days is refused.
    pub async fn schedule_deletion(
        &self,
        key_id: &str,
        region: Option<&str>,
        window_days: i32,
    ) -> Result<(), ResourceError> {
        let window_days = checked_window(window_days).map_err(|message| self.refused(message))?;
        let client = self.client(region);
        match client
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(window_days)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_not_found_exception() || e.is_kms_invalid_state_exception()
                }) =>
            {
                tracing::info!(key_id, "already gone or pending deletion");
                Ok(())
            }
            Err(err) => Err(self.err("ScheduleKeyDeletion", &target(key_id, region), &err)),
        }
    }

    pub async fn tag(&self, key_id: &str, tags: &[(String, String)]) -> Result<(), ResourceError> {
        if tags.is_empty() {
            return Ok(());
        }
        let tags: Vec<Tag> = tags
            .iter()
            .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
            .collect();
        self.kms
            .tag_resource()
            .key_id(key_id)
            .set_tags(Some(tags))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("TagResource", key_id, &e))
    }
}

/// Request tags + user tags + derived tags, as KMS tags.
pub fn kms_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}

/// KMS allows 7-30 days; stackhand never goes below 7, whatever a caller computed.
pub const MIN_PENDING_WINDOW_DAYS: i32 = 7;

fn checked_window(days: i32) -> Result<i32, String> {
    if (MIN_PENDING_WINDOW_DAYS..=30).contains(&days) {
        Ok(days)
    } else {
        Err(format!(
            "refusing to schedule a key deletion with a {days}-day window: it must be between {MIN_PENDING_WINDOW_DAYS} and 30"
        ))
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;
    use shared::profile::Environment;

    #[test]
    fn no_window_under_seven_days_reaches_kms() {
        for days in [-1, 0, 1, 6, 31] {
            assert!(checked_window(days).is_err(), "{days}");
        }
        for env in Environment::ALL {
            let days = env.profile().kms_pending_window_days;
            assert_eq!(checked_window(days), Ok(days), "{env:?}");
        }
    }
}
