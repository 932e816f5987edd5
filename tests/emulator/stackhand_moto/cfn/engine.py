"""Stack operations as CloudFormation runs them: create, update, delete, and their rollbacks.

Resources are created one at a time in dependency order (each waits for what it references),
deleted in the reverse order, and every step is a stack event. A failure rolls back:
a failed Create deletes what was made (ROLLBACK_COMPLETE); a failed Update puts the updated
resources back to their old properties and deletes the new ones (UPDATE_ROLLBACK_COMPLETE).
Replaced and removed resources are deleted only in the cleanup phase, after an Update succeeded
(update.py).
"""

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.cloudformation.models import Event
from moto.cloudformation import parsing
from moto.cloudformation.parsing import Export, OutputMap, ResourceMap

from . import graph, resources
from .custom import ProviderFailed, ResourceFailed


@dataclass
class Record:
    """What the engine remembers of a live resource between operations."""

    json: dict[str, Any]
    properties: dict[str, Any]
    model: Any


@dataclass
class StackState:
    records: dict[str, Record] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    # Export names this stack's template imports (a stack exporting them cannot be deleted).
    imports: set[str] = field(default_factory=set)
    # DescribeStacks' Outputs: set when an operation completes, never read half-made.
    outputs: list[dict[str, Any]] | None = None
    done: threading.Event = field(default_factory=threading.Event)


def physical(model: Any) -> str:
    return str(getattr(model, "physical_resource_id", "") or "")


def state_of(stack: Any) -> StackState:
    if not hasattr(stack, "engine"):
        stack.engine = StackState()
    return stack.engine


def event(stack: Any, logical_id: str, resource_type: str, physical_id: str, status: str, reason: str | None = None) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.stack_status_reason = reason
    event(stack, stack.name, "AWS::CloudFormation::Stack", stack.stack_id, status, reason)


def _active(template: dict[str, Any], resource_map: ResourceMap) -> dict[str, Any]:
    """The template's resources whose Condition holds."""
    active = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        condition = resource.get("Condition")
        if condition and not resource_map.lazy_condition_map[condition]:
            continue
        active[logical_id] = resource
    return active


def validate(template: dict[str, Any]) -> None:
    """What CloudFormation refuses before it starts (raised as ValidationError by the caller)."""
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise graph.TemplateError("Template format error: At least one Resources member must be defined.")
    graph.creation_order(template["Resources"])


def run(stack: Any, operation: Callable[[], None]) -> None:
    """Runs `operation` in the background, as CloudFormation does; the API call may wait for it."""
    state = state_of(stack)
    state.done = threading.Event()

    def body() -> None:
        try:
            operation()
        except Exception as error:  # an engine defect must end the operation, never hang it
            traceback.print_exc()
            failed = "UPDATE_ROLLBACK_FAILED" if stack.status.startswith("UPDATE") else stack.status.split("_")[0] + "_FAILED"
            stack_event(stack, failed, f"Internal failure of the local engine: {error!r}")
        finally:
            state.done.set()

    threading.Thread(target=body, name=f"stack-{stack.name}", daemon=True).start()


def _managed(resource_map: ResourceMap) -> ResourceMap:
    # A reference to a resource that is not created yet must not create it on the spot (moto's
    # lazy map would): the engine creates in dependency order.
    resource_map.engine_managed = True  # type: ignore[attr-defined]
    return resource_map


class Outputs(OutputMap):
    """moto's outputs, with the exports of outputs whose Condition is false left out."""

    @property
    def exports(self) -> list[Export]:
        found = []
        for key, value in (self._output_json_map or {}).items():
            if value.get("Export") and self[key] is not None:
                name = parsing.clean_json(value["Export"].get("Name"), self._resource_map)
                found.append(Export(self._stack_id, name, self[key].value))
        return found


def _outputs(stack: Any, resource_map: ResourceMap, template: dict[str, Any]) -> OutputMap:
    output_map = Outputs(resource_map, template, stack.stack_id)
    try:
        for key in list(output_map.outputs):
            _ = output_map[key]
        _ = output_map.exports
    except ResourceFailed:
        raise
    except Exception as error:
        raise ResourceFailed(resources._message(error))
    return output_map


def _imports(node: Any, resource_map: ResourceMap) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if "Fn::ImportValue" in node:
            try:
                found.add(str(parsing.clean_json(node["Fn::ImportValue"], resource_map)))
            except Exception:
                pass
        for value in node.values():
            found |= _imports(value, resource_map)
    elif isinstance(node, list):
        for value in node:
            found |= _imports(value, resource_map)
    return found


def _check_exports(backend: Any, stack: Any, output_map: OutputMap) -> None:
    for export in output_map.exports:
        owner = backend.exports.get(export.name)
        if owner is not None and owner.exporting_stack_id != stack.stack_id:
            raise ResourceFailed(f"Export with name {export.name} is already exported by stack {owner.exporting_stack_id}")


def _publish(backend: Any, stack: Any, output_map: OutputMap) -> None:
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)
    exports = {e.value: e.name for e in output_map.exports}
    for export in output_map.exports:
        backend.exports[export.name] = export
    stack.output_map = output_map
    outputs = [output_map[key] for key in output_map.outputs]
    state_of(stack).outputs = [
        {"OutputKey": o.key, "OutputValue": o.value, "Description": o.description, "ExportName": exports.get(o.value)}
        for o in outputs
        if o is not None
    ] or None


def importers(backend: Any, stack: Any) -> dict[str, str]:
    """Export name -> the name of another live stack that imports it."""
    mine = {n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id}
    found = {}
    for other in backend.stacks.values():
        if other.stack_id == stack.stack_id:
            continue
        for name in state_of(other).imports & mine:
            found[name] = other.name
    return found


# --- Create ---------------------------------------------------------------------------------


def create(backend: Any, stack: Any, template: dict[str, Any]) -> None:
    state = state_of(stack)
    resource_map = _managed(stack.resource_map)
    resource_map._template = template
    resource_map._resource_json_map = template["Resources"]
    active = _active(template, resource_map)
    order = graph.creation_order(active)
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    failed: tuple[str, str] | None = None
    for logical_id in order:
        resource_json = active[logical_id]
        resource_type = resource_json["Type"]
        event(stack, logical_id, resource_type, "", "CREATE_IN_PROGRESS")
        try:
            properties = resources.resolve(resource_json, resource_map)
            model = resources.create(stack, logical_id, resource_json, properties)
        except ResourceFailed as error:
            made = getattr(error, "resource", None)
            if isinstance(error, ProviderFailed) and made is not None and made.physical_resource_id:
                state.records[logical_id] = Record(resource_json, properties, made)
                state.order.append(logical_id)
            event(stack, logical_id, resource_type, "", "CREATE_FAILED", str(error))
            failed = (logical_id, str(error))
            break
        resource_map._parsed_resources[logical_id] = model
        state.records[logical_id] = Record(resource_json, properties, model)
        state.order.append(logical_id)
        event(stack, logical_id, resource_type, physical(model), "CREATE_COMPLETE")
    if failed is None:
        try:
            output_map = _outputs(stack, resource_map, template)
            _check_exports(backend, stack, output_map)
        except ResourceFailed as error:
            failed = ("Outputs", str(error))
    if failed is not None:
        reason = f"The following resource(s) failed to create: [{failed[0]}]. Rollback requested by user."
        if failed[0] == "Outputs":
            reason = failed[1]
        stack_event(stack, "ROLLBACK_IN_PROGRESS", reason)
        problems = _delete_all(stack, state, rollback=True)
        stack_event(stack, "ROLLBACK_FAILED" if problems else "ROLLBACK_COMPLETE", problems or None)
        return
    _publish(backend, stack, output_map)
    state.imports = _imports(template.get("Resources"), resource_map)
    stack_event(stack, "CREATE_COMPLETE")


# --- Delete ---------------------------------------------------------------------------------


def _delete_all(stack: Any, state: StackState, rollback: bool = False) -> str:
    """Deletes every recorded resource in reverse creation order; returns what failed."""
    problems = []
    for logical_id in reversed(list(state.order)):
        record = state.records[logical_id]
        resource_type = record.json["Type"]
        physical_id = physical(record.model)
        policy = record.json.get("DeletionPolicy")
        if not rollback and policy in ("Retain", "RetainExceptOnCreate"):
            event(stack, logical_id, resource_type, physical_id, "DELETE_SKIPPED")
            state.order.remove(logical_id)
            continue
        event(stack, logical_id, resource_type, physical_id, "DELETE_IN_PROGRESS")
        try:
            resources.delete(stack, record.json, record.properties, record.model)
        except ResourceFailed as error:
            event(stack, logical_id, resource_type, physical_id, "DELETE_FAILED", str(error))
            problems.append(f"{logical_id}: {error}")
            continue
        event(stack, logical_id, resource_type, physical_id, "DELETE_COMPLETE")
        state.order.remove(logical_id)
        state.records.pop(logical_id, None)
        stack.resource_map._parsed_resources.pop(logical_id, None)
    if problems:
        return "The following resource(s) failed to delete: " + "; ".join(problems)
    return ""


def delete(backend: Any, stack: Any) -> None:
    state = state_of(stack)
    stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    problems = _delete_all(stack, state)
    if problems:
        stack_event(stack, "DELETE_FAILED", problems)
        return
    for name in [n for n, e in backend.exports.items() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name)
    state.imports = set()
    stack_event(stack, "DELETE_COMPLETE")
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack
