"""EventBridge Scheduler rules real AWS enforces and moto 5.2.5 skips, on CreateSchedule.

API reference: https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html
- Name: 1 to 64 characters of `[0-9a-zA-Z-_.]`.
- ScheduleExpression: `at(yyyy-mm-ddThh:mm:ss)`, `rate(...)` or `cron(...)`.
- FlexibleTimeWindow is required; Target needs an Arn and a RoleArn (Scheduler assumes the role
  to invoke the target).
"""

import re

from moto.core.exceptions import JsonRESTError
from moto.scheduler.models import EventBridgeSchedulerBackend

NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
EXPRESSION = re.compile(r"^(at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)|rate\(.+\)|cron\(.+\))$")


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("ValidationException", message)


def problem(name: str, expression: str, flexible_time_window, target) -> str | None:
    if not NAME.match(name or ""):
        return f"Name {name!r} must be 1 to 64 characters of [0-9a-zA-Z-_.]"
    if not EXPRESSION.match(expression or ""):
        return f"Invalid Schedule Expression {expression!r}: use at(yyyy-mm-ddThh:mm:ss), rate() or cron()"
    if not flexible_time_window or not flexible_time_window.get("Mode"):
        return "FlexibleTimeWindow with a Mode is required"
    if not target or not target.get("Arn") or not target.get("RoleArn"):
        return "Target needs an Arn and a RoleArn"
    return None


def install() -> None:
    create_schedule = EventBridgeSchedulerBackend.create_schedule

    def strict_create_schedule(self, **kwargs):
        found = problem(kwargs.get("name"), kwargs.get("schedule_expression"), kwargs.get("flexible_time_window"), kwargs.get("target"))
        if found:
            raise ValidationException(found)
        return create_schedule(self, **kwargs)

    EventBridgeSchedulerBackend.create_schedule = strict_create_schedule
