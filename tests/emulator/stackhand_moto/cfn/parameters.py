"""Parameter constraints, checked as CloudFormation checks them before anything is made:
AllowedValues, AllowedPattern (the whole value), MinLength/MaxLength, MinValue/MaxValue and
Number, each refused with CloudFormation's message. moto checks none of them."""

import re
from typing import Any


class ParameterError(Exception):
    pass


def check(template: dict[str, Any], given: dict[str, Any]) -> None:
    missing = []
    for name, slot in (template.get("Parameters") or {}).items():
        value = given.get(name, slot.get("Default"))
        if value is None:
            missing.append(name)
            continue
        kind = str(slot.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<") or isinstance(value, list):
            continue
        _check_one(name, slot, kind, str(value))
    if missing:
        raise ParameterError(f"Parameters: [{', '.join(missing)}] must have values")


def _check_one(name: str, slot: dict[str, Any], kind: str, value: str) -> None:
    allowed = slot.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        raise ParameterError(f"Parameter '{name}' must be one of AllowedValues")
    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(f"Parameter '{name}' must be a number") from None
        low, high = slot.get("MinValue"), slot.get("MaxValue")
        if low is not None and number < float(low):
            raise ParameterError(f"Parameter '{name}' must be a number not less than {low}")
        if high is not None and number > float(high):
            raise ParameterError(f"Parameter '{name}' must be a number not greater than {high}")
        return
    pattern = slot.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise ParameterError(f"Parameter '{name}' must match pattern {pattern}")
    low, high = slot.get("MinLength"), slot.get("MaxLength")
    if low is not None and len(value) < int(low):
        raise ParameterError(f"Parameter '{name}' must contain at least {low} characters")
    if high is not None and len(value) > int(high):
        raise ParameterError(f"Parameter '{name}' must contain at most {high} characters")
