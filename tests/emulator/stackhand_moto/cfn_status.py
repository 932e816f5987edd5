"""Test control: POST /stackhand/cloudformation/stack-status {"account", "region", "stack",
"status"} sets a stack's status as DescribeStacks reports it (a stack mid-update, say), which
moto's CloudFormation, finishing every operation at once, never shows for long."""

import json

from moto.cloudformation.models import cloudformation_backends


def set_status(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
    request = json.loads(body or b"{}")
    backend = cloudformation_backends[str(request["account"])][request["region"]]
    wanted = request["stack"]
    for stack in backend.stacks.values():
        if wanted in (stack.stack_id, stack.name):
            stack.status = request["status"]
            return 200, b"{}"
    return 400, json.dumps({"message": f"no stack {wanted}"}).encode()


def install() -> None:
    from . import routes

    routes.route("POST", "/stackhand/cloudformation/stack-status", set_status)
