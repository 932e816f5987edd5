"""A stack Update as CloudFormation runs it: changed resources updated (or replaced) in dependency
order, new ones created; removed and replaced ones deleted only in the cleanup phase, once the
rest succeeded; on a failure, every updated resource sent back to its old properties and the new
ones deleted (UPDATE_ROLLBACK_COMPLETE).
"""

import copy
from typing import Any

from moto.cloudformation.parsing import ResourceMap

from . import graph, resources
from .custom import ResourceFailed
from .engine import (
    Record,
    StackState,
    _active,
    _check_exports,
    _imports,
    _managed,
    _outputs,
    _publish,
    event,
    importers,
    physical,
    stack_event,
    state_of,
)


def update(backend: Any, stack: Any, template: dict[str, Any], parameters: dict[str, Any]) -> None:
    state = state_of(stack)
    old_map: ResourceMap = stack.resource_map
    old_records = {k: copy.copy(v) for k, v in state.records.items()}
    old_order = list(state.order)
    old_parameters = stack.parameters
    new_map = _managed(
        ResourceMap(
            stack.stack_id,
            stack.name,
            parameters,
            stack.tags,
            region_name=stack.region_name,
            account_id=stack.account_id,
            template=template,
            cross_stack_resources=backend.exports,
        )
    )
    stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    try:
        new_map.load()
    except Exception as error:
        stack_event(stack, "UPDATE_ROLLBACK_COMPLETE", resources._message(error))
        return
    for logical_id, record in state.records.items():
        new_map._parsed_resources[logical_id] = record.model
    stack.resource_map = new_map
    active = _active(template, new_map)
    order = graph.creation_order(active)
    created: list[str] = []
    updated: list[str] = []
    cleanup: list[tuple[str, Record]] = []
    failed: tuple[str, str] | None = None
    for logical_id in order:
        resource_json = active[logical_id]
        resource_type = resource_json["Type"]
        old = state.records.get(logical_id)
        try:
            properties = resources.resolve(resource_json, new_map)
        except ResourceFailed as error:
            event(stack, logical_id, resource_type, "", "UPDATE_FAILED", str(error))
            failed = (logical_id, str(error))
            break
        if old is not None and old.json["Type"] == resource_type and old.properties == properties:
            old.json = resource_json
            continue
        if old is not None and old.json["Type"] != resource_type:
            cleanup.append((logical_id, old))
            old = None
        status = "UPDATE" if old is not None else "CREATE"
        physical_id = physical(old.model) if old else ""
        event(stack, logical_id, resource_type, physical_id, f"{status}_IN_PROGRESS")
        try:
            if old is None:
                model = resources.create(stack, logical_id, resource_json, properties)
            else:
                model = resources.update(stack, logical_id, resource_json, properties, old.properties, old.model)
        except ResourceFailed as error:
            event(stack, logical_id, resource_type, physical_id, f"{status}_FAILED", str(error))
            failed = (logical_id, str(error))
            if old is not None:
                # The failed resource may have changed part-way: it is rolled back too.
                state.records[logical_id] = Record(resource_json, properties, old.model)
                updated.append(logical_id)
            break
        new_map._parsed_resources[logical_id] = model
        if old is None:
            created.append(logical_id)
            state.order.append(logical_id)
        else:
            updated.append(logical_id)
            if resources.is_custom(resource_type) and physical(model) != physical_id:
                cleanup.append((logical_id, Record(old.json, old.properties, old.model)))
        state.records[logical_id] = Record(resource_json, properties, model)
        event(stack, logical_id, resource_type, physical(model), f"{status}_COMPLETE")
    output_map = None
    if failed is None:
        try:
            output_map = _outputs(stack, new_map, template)
            _check_exports(backend, stack, output_map)
            in_use = importers(backend, stack)
            still = {e.name: e.value for e in output_map.exports}
            for name, importer in in_use.items():
                if name not in still or still[name] != backend.exports[name].value:
                    raise ResourceFailed(f"Cannot update export {name} as it is in use by {importer}")
        except ResourceFailed as error:
            failed = ("Outputs", str(error))
    if failed is not None:
        _roll_back_update(stack, state, old_map, old_records, old_order, created, updated, failed)
        stack.parameters = old_parameters
        return
    stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    removed = [lid for lid in reversed(old_order) if lid not in active]
    for logical_id in removed:
        record = state.records.pop(logical_id)
        state.order.remove(logical_id)
        if record.json.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            event(stack, logical_id, record.json["Type"], physical(record.model), "DELETE_SKIPPED")
            continue
        cleanup.append((logical_id, record))
    for logical_id, record in cleanup:
        _delete_one(stack, logical_id, record)
    _publish(backend, stack, output_map)
    state.imports = _imports(template.get("Resources"), new_map)
    stack.parameters = parameters
    stack_event(stack, "UPDATE_COMPLETE")


def _delete_one(stack: Any, logical_id: str, record: Record) -> None:
    physical_id = physical(record.model)
    event(stack, logical_id, record.json["Type"], physical_id, "DELETE_IN_PROGRESS")
    try:
        resources.delete(stack, record.json, record.properties, record.model)
    except ResourceFailed as error:
        # CloudFormation reports a failed cleanup and still completes the update.
        event(stack, logical_id, record.json["Type"], physical_id, "DELETE_FAILED", str(error))
        return
    event(stack, logical_id, record.json["Type"], physical_id, "DELETE_COMPLETE")


def _roll_back_update(
    stack: Any,
    state: StackState,
    old_map: ResourceMap,
    old_records: dict[str, Record],
    old_order: list[str],
    created: list[str],
    updated: list[str],
    failed: tuple[str, str],
) -> None:
    reason = failed[1] if failed[0] == "Outputs" else f"The following resource(s) failed to update: [{failed[0]}]."
    stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    stack.resource_map = old_map
    problems = []
    cleanup: list[tuple[str, Record]] = []
    for logical_id in reversed(updated):
        now, before = state.records[logical_id], old_records[logical_id]
        resource_type = before.json["Type"]
        event(stack, logical_id, resource_type, physical(now.model), "UPDATE_IN_PROGRESS")
        try:
            model = resources.update(stack, logical_id, before.json, before.properties, now.properties, now.model)
        except ResourceFailed as error:
            event(stack, logical_id, resource_type, physical(now.model), "UPDATE_FAILED", str(error))
            problems.append(f"{logical_id}: {error}")
            continue
        if resources.is_custom(resource_type) and physical(model) != physical(now.model):
            cleanup.append((logical_id, now))
        old_map._parsed_resources[logical_id] = model
        event(stack, logical_id, resource_type, physical(model), "UPDATE_COMPLETE")
        old_records[logical_id] = Record(before.json, before.properties, model)
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    for logical_id in reversed(created):
        cleanup.append((logical_id, state.records[logical_id]))
    for logical_id, record in cleanup:
        _delete_one(stack, logical_id, record)
    state.records = old_records
    state.order = old_order
    if problems:
        stack_event(stack, "UPDATE_ROLLBACK_FAILED", "; ".join(problems))
    else:
        stack_event(stack, "UPDATE_ROLLBACK_COMPLETE")
