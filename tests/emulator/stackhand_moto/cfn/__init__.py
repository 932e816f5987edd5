"""A local CloudFormation engine on moto's: stackhand's templates run as users deploy them.

moto parses templates, resolves intrinsic functions and models native resources; this package
drives the stack operations the way CloudFormation does (engine.py), serves custom resources with
the real function binaries under a local Lambda Runtime API (custom.py, functions.py), and applies
the SAM transform (sam.py). What it reproduces and what it does not: docs/architecture.md,
"The local CloudFormation engine".
"""

import json
import os
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation import parsing
from moto.cloudformation.parsing import ResourceMap
from moto.iam import models as iam_models

from . import custom, engine, functions, graph, parameters as parameter_rules, sam, update

# How long a CreateStack, UpdateStack or DeleteStack call waits for its operation before it
# answers (the operation goes on afterwards). CloudFormation answers at once; waiting a little
# lets a waiter's first poll see the end of a short operation instead of sleeping 30 s.
SYNC_WAIT_SECONDS = float(os.environ.get("STACKHAND_ENGINE_SYNC_WAIT", "20"))
_INSTALLED = False


def _parse(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else Stack.parse_template(body)


def _prepared(body: Any, parameters: dict[str, Any], region: str) -> str:
    """The template the engine runs: the SAM transform applied, as CloudFormation applies it."""
    template = _parse(body)
    try:
        parameter_rules.check(template, parameters)
    except parameter_rules.ParameterError as error:
        raise ValidationError(message=str(error))
    if sam.needs_transform(template):
        try:
            template = sam.transform(template, parameters, region)
        except Exception as error:  # samtranslator's InvalidDocumentException and friends
            raise ValidationError(message=f"Transform AWS::Serverless-2016-10-31 failed with: {error}")
    try:
        engine.validate(template)
    except graph.TemplateError as error:
        raise ValidationError(message=str(error))
    return json.dumps(template)


def _wait(stack: Any) -> None:
    engine.state_of(stack).done.wait(SYNC_WAIT_SECONDS)


def _live(backend: CloudFormationBackend, name: str) -> Any:
    for stack in backend.stacks.values():
        if stack.name == name or stack.stack_id == name:
            return stack
    return None


def create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any], **kwargs: Any) -> Stack:
    if _live(self, name) is not None:
        from moto.cloudformation.exceptions import AlreadyExistsException

        raise AlreadyExistsException(f"Stack [{name}] already exists")
    from moto.cloudformation.utils import generate_stack_id

    body = _prepared(template, parameters, self.region_name)
    stack = Stack(
        stack_id=generate_stack_id(name, self.region_name, self.account_id),
        name=name,
        template=body,
        parameters=parameters,
        account_id=self.account_id,
        region_name=self.region_name,
        notification_arns=kwargs.get("notification_arns"),
        tags=kwargs.get("tags"),
        role_arn=kwargs.get("role_arn"),
        cross_stack_resources=self.exports,
        enable_termination_protection=kwargs.get("enable_termination_protection"),
        timeout_in_mins=kwargs.get("timeout_in_mins"),
        stack_policy_body=kwargs.get("stack_policy_body"),
    )
    stack.template = template
    self.stacks[stack.stack_id] = stack
    engine.run(stack, lambda: engine.create(self, stack, json.loads(body)))
    _wait(stack)
    return stack


def update_stack(self: CloudFormationBackend, name: str, template: str, role_arn: str | None, parameters: list[dict[str, Any]], tags: dict[str, str] | None) -> Stack:
    stack = self.get_stack(name)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    body = _prepared(template, resolved, self.region_name)
    stack.template = template
    engine.run(stack, lambda: update.update(self, stack, json.loads(body), resolved))
    _wait(stack)
    return stack


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = _live(self, name_or_stack_id)
    if stack is None:
        return  # deleting a stack that does not exist succeeds
    in_use = engine.importers(self, stack)
    if in_use:
        name, importer = sorted(in_use.items())[0]
        raise ValidationError(message=f"Export {name} cannot be deleted as it is in use by {importer}")
    engine.run(stack, lambda: engine.delete(self, stack))
    _wait(stack)


def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    body = _prepared(change_set.template, change_set.parameters, self.region_name)
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack.parameters = change_set.parameters
        stack.template_dict = json.loads(body)
        stack.cross_stack_resources = self.exports  # moto's change-set stack starts without them
        stack.resource_map = stack._create_resource_map()
        engine.run(stack, lambda: engine.create(self, stack, json.loads(body)))
    else:
        stack.template = change_set.template
        engine.run(stack, lambda: update.update(self, stack, json.loads(body), change_set.parameters))
    _wait(stack)
    change_set.execution_status = "EXECUTE_COMPLETE"


_original_getitem = ResourceMap.__getitem__
_original_clean_json = parsing.clean_json


def _clean_json(resource_json: Any, resources_map: Any) -> Any:
    """moto keeps AWS::NoValue in lists as null; CloudFormation removes the element."""
    cleaned = _original_clean_json(resource_json, resources_map)
    if isinstance(resource_json, list) and isinstance(cleaned, list):
        return [item for item in cleaned if item is not None]
    return cleaned


def _getitem(self: ResourceMap, key: str) -> Any:
    if getattr(self, "engine_managed", False) and key not in self._parsed_resources and key in self._resource_json_map:
        raise KeyError(key)
    return _original_getitem(self, key)


_original_iter = ResourceMap.__iter__
_original_len = ResourceMap.__len__


def _made(self: ResourceMap) -> list[str]:
    """The resources the engine made: a resource whose Condition is false, or not made yet,
    is not listed (DescribeStackResources, ListStackResources)."""
    return [key for key in self._resource_json_map if key in self._parsed_resources]


def _iter(self: ResourceMap) -> Any:
    if getattr(self, "engine_managed", False):
        return iter(_made(self))
    return _original_iter(self)


def _len(self: ResourceMap) -> int:
    if getattr(self, "engine_managed", False):
        return len(_made(self))
    return _original_len(self)


def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Lambda's Invoke API (and EventBridge targets) run a local function when the engine has it."""
    function = functions.find(self.function_arn, self.account_id, self.region)
    if function is None:
        return _original_invoke_lambda(self, event=event)
    try:
        payload = event if not isinstance(event, str) else json.loads(event)
        return json.dumps(function.invoke(payload)), False, ""
    except functions.InvokeError as error:
        return json.dumps({"errorMessage": str(error), "errorType": "Runtime.Error"}), True, ""


_original_invoke_lambda: Any = None
_original_load_parameters = ResourceMap.load_parameters


def _load_parameters(self: ResourceMap) -> None:
    """moto splits list parameters given by the caller but not their defaults; AWS splits both."""
    _original_load_parameters(self)
    for name, slot in (self._template.get("Parameters") or {}).items():
        kind = str(slot.get("Type", "String"))
        value = self.resolved_parameters.get(name)
        if isinstance(value, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            self.resolved_parameters[name] = value.split(",")
            self._parsed_resources[name] = self.resolved_parameters[name]


def _role_put_policy(original: Any) -> Any:
    """A role's inline policy from a template is a mapping; IAM keeps (and GetRolePolicy gives
    back) its JSON text. moto stored the mapping and answered its Python repr."""

    def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        original(self, policy_name, policy_json)

    return put_policy


def install(endpoint: str | None = None) -> None:
    """Installs the engine on moto's CloudFormation backend; `endpoint` is the emulator's URL."""
    global _INSTALLED, _original_invoke_lambda
    if endpoint:
        functions.CONFIG["endpoint"] = endpoint
    if _INSTALLED:
        return
    import importlib

    # Register moto's CloudFormation models of every service the templates use.
    for service in ("awslambda", "cloudwatch", "ec2", "ecs", "events", "iam", "kms", "logs", "sns", "sqs", "ssm"):
        importlib.import_module(f"moto.{service}.models")
    from moto.awslambda.models import LambdaFunction

    from .. import routes

    CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = update_stack  # type: ignore[method-assign]
    CloudFormationBackend.delete_stack = delete_stack  # type: ignore[method-assign]
    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    ResourceMap.__getitem__ = _getitem  # type: ignore[method-assign]
    iam_models.Role.put_policy = _role_put_policy(iam_models.Role.put_policy)  # type: ignore[method-assign]
    ResourceMap.__iter__ = _iter  # type: ignore[method-assign]
    ResourceMap.__len__ = _len  # type: ignore[method-assign]
    parsing.clean_json = _clean_json
    ResourceMap.load_parameters = _load_parameters  # type: ignore[method-assign]
    original_outputs = Stack.outputs
    Stack.outputs = property(  # type: ignore[method-assign, assignment]
        lambda stack: stack.engine.outputs if hasattr(stack, "engine") else original_outputs.fget(stack)
    )
    _original_invoke_lambda = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    routes.route("PUT", custom.RESPONSE_PATH, custom.receive)
    _INSTALLED = True
