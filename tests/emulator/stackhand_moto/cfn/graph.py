"""Which resources a resource depends on, and the order CloudFormation creates them in.

A dependency is an explicit `DependsOn`, or a `Ref`, `Fn::GetAtt` or `Fn::Sub` reference to another
resource of the same template. Pure functions: tested in test_cfn_engine.py.
"""

import re
from typing import Any, Iterable

SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class TemplateError(Exception):
    """A template CloudFormation refuses before it starts (returned as ValidationError)."""


def references(node: Any, resources: Iterable[str], local: frozenset[str] = frozenset()) -> set[str]:
    """The resources `node` refers to."""
    names = set(resources)
    found: set[str] = set()

    def walk(value: Any, hidden: frozenset[str]) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, hidden)
            return
        if not isinstance(value, dict):
            return
        if "Ref" in value and isinstance(value["Ref"], str):
            if value["Ref"] in names:
                found.add(value["Ref"])
            return
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            name = target[0] if isinstance(target, list) else str(target).split(".")[0]
            if isinstance(name, str) and name in names:
                found.add(name)
            return
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            walk(variables, hidden)
            inner = hidden | frozenset(variables or {})
            if isinstance(text, str):
                for variable in SUB_VARIABLE.findall(text):
                    name = variable.split(".")[0]
                    if name in names and name not in inner:
                        found.add(name)
            return
        for item in value.values():
            walk(item, hidden)

    walk(node, local)
    return found


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource's direct dependencies; refuses unknown `DependsOn` targets."""
    graph: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        unknown = [d for d in depends_on if d not in resources]
        if unknown:
            raise TemplateError(
                f"Template format error: Unresolved resource dependencies {unknown} in the Resources block of the template"
            )
        refs = references(resource.get("Properties") or {}, resources)
        graph[logical_id] = (set(depends_on) | refs) - {logical_id}
    return graph


def creation_order(resources: dict[str, Any]) -> list[str]:
    """Every resource after the ones it depends on; template order among independent ones."""
    graph = dependencies(resources)
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):]
            raise TemplateError(f"Circular dependency between resources: {sorted(cycle)}")
        state[name] = "visiting"
        for dependency in sorted(graph[name], key=list(resources).index):
            visit(dependency, path + [name])
        state[name] = "done"
        order.append(name)

    for name in resources:
        visit(name, [])
    return order
