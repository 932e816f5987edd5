//! The ownership rule on its own: which record lets a request touch a resource.

use super::*;
use crate::cfn::event;
use serde_json::json;

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/orders/guid-1";

fn request(stack: &str, logical: &str, request_id: &str) -> Request {
    event::decode(json!({
        "RequestType": "Delete",
        "ResponseURL": "https://cfn.example/r?X-Amz-Signature=s",
        "StackId": stack,
        "RequestId": request_id,
        "ResourceType": "Custom::LogGroup",
        "LogicalResourceId": logical,
        "PhysicalResourceId": "/app/api",
        "ResourceProperties": {"ServiceToken": "arn"}
    }))
    .expect("a request")
}

fn tags_of(owner: &Owner) -> BTreeMap<String, String> {
    owner.tags().into_iter().collect()
}

#[test]
fn a_record_round_trips_through_tags() {
    let owner = Owner::of(&request(STACK, "Api", "r-1"), Environment::Prod);
    let back = Owner::from_tags(&tags_of(&owner)).expect("recorded");
    assert_eq!(back, owner);
    assert!(back.made_within(CANCELLED_CREATE_WINDOW));
}

#[test]
fn only_the_same_stack_and_logical_resource_may_touch_it() {
    let made = tags_of(&Owner::of(&request(STACK, "Api", "r-1"), Environment::Dev));
    assert!(matches!(
        Claim::of(&made, &request(STACK, "Api", "r-1")),
        Claim::ThisRequest(_)
    ));
    assert!(matches!(
        Claim::of(&made, &request(STACK, "Api", "r-9")),
        Claim::ThisResource(_)
    ));
    // A renamed logical id, and another stack with the same logical id.
    let renamed = Claim::of(&made, &request(STACK, "ApiRenamed", "r-2"));
    assert!(!renamed.is_ours());
    assert_eq!(renamed.holder(), "resource Api of stack orders");
    let other_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/billing/guid-2";
    assert!(!Claim::of(&made, &request(other_stack, "Api", "r-3")).is_ours());
}

#[test]
fn no_record_is_never_ours() {
    let mut tags = BTreeMap::new();
    assert_eq!(
        Claim::of(&tags, &request(STACK, "Api", "r-1")),
        Claim::Unrecorded
    );
    // A stack id alone (a hand-added tag) is no record.
    tags.insert("stackhand:stack-id".to_owned(), STACK.to_owned());
    assert_eq!(
        Claim::of(&tags, &request(STACK, "Api", "r-1")),
        Claim::Unrecorded
    );
    let reason = Claim::Unrecorded
        .refusal("Custom::LogGroup", "LogGroupName /org/cloudtrail", "change")
        .to_string();
    assert!(
        reason.starts_with("Custom::LogGroup: LogGroupName /org/cloudtrail already exists"),
        "{reason}"
    );
}

#[test]
fn a_record_from_the_release_before_still_counts() {
    // stack, logical and request ids only: no environment, no time.
    let tags: BTreeMap<String, String> = [
        ("stackhand:stack-id", STACK),
        ("stackhand:logical-id", "Api"),
        ("stackhand:request-id", "r-0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let claim = Claim::of(&tags, &request(STACK, "Api", "r-5"));
    assert!(claim.is_ours());
    assert_eq!(claim.made_for(), None);
    let Claim::ThisResource(owner) = claim else {
        panic!("ours")
    };
    assert!(
        !owner.made_within(CANCELLED_CREATE_WINDOW),
        "an unknown age is never taken for a cancelled Create's"
    );
}

#[test]
fn the_stricter_environment_wins_only_when_the_event_names_a_weaker_one() {
    use Environment::*;
    assert_eq!(stricter_environment(Some(Prod), Dev), Some(Prod));
    assert_eq!(stricter_environment(Some(Uat), Qa), Some(Uat));
    assert_eq!(stricter_environment(Some(Prod), Prod), None);
    assert_eq!(stricter_environment(Some(Dev), Prod), None);
    assert_eq!(stricter_environment(None, Dev), None);
}
