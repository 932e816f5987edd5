//! Which Deletes sweep for a cancelled Create, and for how long.

use super::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::time::Instant;

/// A type whose physical id is its `Name`; it counts what it is asked to do.
#[derive(Default)]
struct Counting {
    sweeps: AtomicUsize,
    deletes: AtomicUsize,
    /// How long each sweep takes: a prod baseline's sweep lists and deletes dozens of alarms.
    sweep_takes: Duration,
}

impl CustomResource for Counting {
    const RESOURCE_TYPE: &'static str = "Custom::Counting";
    type Properties = String;

    fn decode(props: &mut Props) -> Result<String, PropertyError> {
        props.required_string("Name")
    }

    async fn create(&self, _: &Request, name: &String) -> Result<Outcome, ResourceError> {
        Ok(Outcome::new(name))
    }

    async fn update(
        &self,
        _: &Request,
        _: &str,
        _: Option<&String>,
        name: &String,
    ) -> Result<Outcome, ResourceError> {
        Ok(Outcome::new(name))
    }

    async fn delete(&self, _: &Request, _: &str, _: &String) -> Result<(), ResourceError> {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn is_own_id(&self, physical_id: &str, name: &String) -> bool {
        physical_id == name
    }

    async fn clean_up_cancelled_create(
        &self,
        _: &Request,
        _: &String,
    ) -> Result<(), ResourceError> {
        self.sweeps.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.sweep_takes).await;
        Ok(())
    }
}

fn delete(physical_id: &str, guard_in: Duration) -> Request {
    let mut request = event::decode(json!({
        "RequestType": "Delete",
        "ResponseURL": "https://cfn.example/r?X-Amz-Signature=s",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid",
        "RequestId": "r-2",
        "ResourceType": "Custom::Counting",
        "LogicalResourceId": "Thing",
        "PhysicalResourceId": physical_id,
        "ResourceProperties": {"ServiceToken": "arn", "Name": "thing"}
    }))
    .expect("a Delete");
    request.guard_at = Some(Instant::now() + guard_in);
    request
}

#[tokio::test]
async fn a_delete_of_its_own_id_deletes_at_once() {
    let resource = Counting::default();
    let outcome = serve(&resource, &delete("thing", Duration::from_secs(60)))
        .await
        .expect("deleted");
    assert_eq!(outcome.physical_resource_id, "thing");
    assert_eq!(resource.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(resource.sweeps.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_delete_of_a_made_up_id_sweeps_until_just_before_the_guard() {
    let resource = Counting::default();
    let started = Instant::now();
    let guard_in = LAST_SWEEP_BEFORE_GUARD + Duration::from_millis(1200);
    let outcome = serve(&resource, &delete("s-Thing-1X2Y3Z", guard_in))
        .await
        .expect("swept");
    let took = started.elapsed();
    assert_eq!(
        outcome.physical_resource_id, "s-Thing-1X2Y3Z",
        "the id is kept"
    );
    assert_eq!(
        resource.deletes.load(Ordering::SeqCst),
        0,
        "nothing of that id"
    );
    // At 0, 0.5 s and 1.2 s: the last one just before the guard's margin.
    assert_eq!(resource.sweeps.load(Ordering::SeqCst), 3);
    assert!(
        took >= Duration::from_millis(1200) && took < guard_in,
        "{took:?}"
    );
}

#[tokio::test]
async fn a_slow_last_sweep_is_cut_short_before_the_guard() {
    let resource = Counting {
        sweep_takes: Duration::from_secs(5),
        ..Counting::default()
    };
    let started = Instant::now();
    let guard_in = LAST_SWEEP_BEFORE_GUARD + Duration::from_millis(500);
    let outcome = serve(&resource, &delete("s-Thing-1X2Y3Z", guard_in))
        .await
        .expect("answered SUCCESS, not FAILED");
    let took = started.elapsed();
    assert_eq!(outcome.physical_resource_id, "s-Thing-1X2Y3Z");
    assert!(took < guard_in, "answered before the guard: {took:?}");
    assert_eq!(resource.sweeps.load(Ordering::SeqCst), 1);
}
