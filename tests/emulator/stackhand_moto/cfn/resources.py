"""One resource's Create, Update and Delete, for every kind of type the engine meets:
custom resources (custom.py), stackhand's functions (run locally, functions.py), the native types
moto models, and the few it does not (kept as records, named in docs/architecture.md)."""

import copy
import uuid
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.parsing import (
    parse_and_create_resource,
    parse_and_update_resource,
    resource_class_from_type,
)

from . import custom, functions
from .custom import CustomResource, ResourceFailed

# Native types moto 5.2.5 has no CloudFormation model for, or one the engine must not use. None
# changes what a test observes of stackhand: each is an SNS/SQS/Lambda/Scheduler side resource of
# template.yaml.
UNMODELLED = {
    "AWS::SNS::Subscription": "e-mail subscriptions are never delivered by the emulator",
    "AWS::SQS::QueuePolicy": "the emulator does not enforce resource policies",
    "AWS::Lambda::EventInvokeConfig": "retries of asynchronous invocations are the engine's own",
    "AWS::Scheduler::Schedule": "schedules do not fire locally; tests and the demo invoke the functions",
    # moto would invoke the function inside SendMessage, while the sender is that same function.
    "AWS::Lambda::EventSourceMapping": "queues are not polled locally; tests feed the function SQS events as the event source does",
}


# Properties CloudFormation takes as a JSON object and hands the API as a string; moto's models
# pass them through unchanged.
JSON_STRING_PROPERTIES = {"AWS::KMS::Key": ("KeyPolicy",)}


def _for_moto(resource_json: dict[str, Any]) -> dict[str, Any]:
    prepared = copy.deepcopy(resource_json)
    properties = prepared.get("Properties") or {}
    for name in JSON_STRING_PROPERTIES.get(prepared["Type"], ()):
        if isinstance(properties.get(name), dict) and not any(k.startswith("Fn::") for k in properties[name]):
            properties[name] = {"Fn::ToJsonString": properties[name]}
    return prepared


def is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


class Unmodelled:
    """A native resource the emulator has no model for: a physical id and ARN-shaped attributes."""

    def __init__(self, logical_id: str, resource_type: str, stack_name: str, account_id: str, region: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = f"{stack_name}-{logical_id}-{uuid.uuid4().hex[:12].upper()}"
        service = resource_type.split("::")[1].lower()
        self.arn = f"arn:aws:{service}:{region}:{account_id}:{self.physical_resource_id}"

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, name: str) -> Any:
        return self.arn if name.endswith("Arn") else self.physical_resource_id


def resolve(resource_json: dict[str, Any], resource_map: Any) -> dict[str, Any]:
    """The resource's properties with every intrinsic function resolved."""
    try:
        return parsing.clean_json(copy.deepcopy(resource_json.get("Properties") or {}), resource_map)
    except ResourceFailed:
        raise
    except KeyError as missing:
        raise ResourceFailed(f"Template error: unresolved reference {missing}")
    except Exception as error:  # moto raises its own ValidationError, ExportNotFound, ...
        raise ResourceFailed(_message(error))


def _message(error: Exception) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


def create(stack: Any, logical_id: str, resource_json: dict[str, Any], properties: dict[str, Any]) -> Any:
    """Creates the resource; returns its model (what Ref and Fn::GetAtt read)."""
    resource_type = resource_json["Type"]
    if is_custom(resource_type):
        resource = CustomResource(logical_id, resource_type, stack.stack_id)
        try:
            response = custom.send("Create", resource, properties, stack.account_id, stack.region_name)
        except custom.ProviderFailed as failed:
            # CloudFormation keeps the id a FAILED Create names, and sends it a Delete on rollback.
            resource.physical_resource_id = failed.response.get("PhysicalResourceId") or ""
            failed.resource = resource  # type: ignore[attr-defined]
            raise
        return _answered(resource, response)
    if resource_class_from_type(resource_type) is None or resource_type in UNMODELLED:
        if resource_type not in UNMODELLED:
            raise ResourceFailed(f"Resource type {resource_type} is not supported by the local engine")
        return Unmodelled(logical_id, resource_type, stack.name, stack.account_id, stack.region_name)
    try:
        model = parse_and_create_resource(
            logical_id, _for_moto(resource_json), stack.resource_map, stack.account_id, stack.region_name
        )
    except ResourceFailed:
        raise
    except Exception as error:
        raise ResourceFailed(_message(error))
    if model is not None and not hasattr(model, "physical_resource_id"):
        # A few moto models (Lambda::Permission) have no id; CloudFormation shows one.
        model.physical_resource_id = f"{stack.name}-{logical_id}-{uuid.uuid4().hex[:12].upper()}"
    _register_function(stack, resource_json, properties, model)
    return model


def update(
    stack: Any,
    logical_id: str,
    resource_json: dict[str, Any],
    properties: dict[str, Any],
    old_properties: dict[str, Any],
    current: Any,
) -> Any:
    """Updates in place or replaces; returns the (possibly new) model. The caller deletes a
    replaced custom resource's old physical id in the cleanup phase."""
    resource_type = resource_json["Type"]
    if is_custom(resource_type):
        if properties.get("ServiceToken") != old_properties.get("ServiceToken"):
            raise ResourceFailed("Modifying service token is not allowed.")
        resource = CustomResource(logical_id, resource_type, stack.stack_id)
        resource.physical_resource_id = current.physical_resource_id
        response = custom.send(
            "Update", resource, properties, stack.account_id, stack.region_name, old_properties=old_properties
        )
        return _answered(resource, response)
    if isinstance(current, Unmodelled):
        return current
    try:
        model = parse_and_update_resource(
            logical_id, _for_moto(resource_json), stack.resource_map, stack.account_id, stack.region_name
        )
    except Exception as error:
        raise ResourceFailed(_message(error))
    model = model or current
    _register_function(stack, resource_json, properties, model)
    return model


def delete(stack: Any, resource_json: dict[str, Any], properties: dict[str, Any], current: Any) -> None:
    resource_type = resource_json["Type"]
    if is_custom(resource_type):
        if not current.physical_resource_id:
            return
        resource = CustomResource(current.logical_resource_id, resource_type, stack.stack_id)
        resource.physical_resource_id = current.physical_resource_id
        custom.send("Delete", resource, properties, stack.account_id, stack.region_name)
        return
    if isinstance(current, Unmodelled) or current is None:
        return
    if resource_type == "AWS::Lambda::Function":
        functions.unregister(stack.account_id, stack.region_name, current.physical_resource_id)
    try:
        stack.resource_map._delete_resource(current, resource_json)
    except Exception as error:
        raise ResourceFailed(_message(error))


def _answered(resource: CustomResource, response: dict[str, Any]) -> CustomResource:
    resource.physical_resource_id = response["PhysicalResourceId"]
    data = response.get("Data") or {}
    resource.data = data if isinstance(data, dict) else {}
    return resource


def _register_function(stack: Any, resource_json: dict[str, Any], properties: dict[str, Any], model: Any) -> None:
    binary = (resource_json.get("Metadata") or {}).get("StackhandBinary")
    if resource_json["Type"] != "AWS::Lambda::Function" or not binary or model is None:
        return
    variables = ((properties.get("Environment") or {}).get("Variables")) or {}
    functions.register(
        functions.FunctionSpec(
            account_id=stack.account_id,
            region=stack.region_name,
            name=model.function_name,
            arn=model.function_arn,
            binary=binary,
            role_arn=str(properties.get("Role") or f"arn:aws:iam::{stack.account_id}:role/{model.function_name}"),
            variables={k: str(v) for k, v in variables.items()},
            timeout_s=int(properties.get("Timeout") or 3),
            memory_mb=int(properties.get("MemorySize") or 128),
        )
    )
