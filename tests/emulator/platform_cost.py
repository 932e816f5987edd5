"""What a deployed environment costs every month whatever it does, layer by layer: the seed stacks'
`*MonthlyCostUsd` outputs (each a provider's `EstimatedMonthlyCostUsd` attribute) and, for
template.yaml's own resources, the same prices the providers use (shared/prices.json).
"""

import json
from dataclasses import dataclass
from typing import Any

from local_cloud import ROOT

PRICES = json.loads((ROOT / "shared/prices.json").read_text())
# The native resources template.yaml makes that are billed by the month, with their price's name.
NATIVE = {
    "AWS::KMS::Key": "kms-key",
    "AWS::CloudWatch::Dashboard": "dashboard",
    "AWS::CloudWatch::Alarm": "alarm-metric",
    "AWS::CloudWatch::CompositeAlarm": "composite-alarm",
}
# The seed platform's stated monthly figures, use included (docs/operations.md, "What it costs").
SEED_FIGURES = {"dev": 15, "qa": 40, "uat": 120, "prod": 450}


@dataclass
class LayerCost:
    layer: str
    usd: float
    # Each priced item: (logical id or output, usd).
    items: list[tuple[str, float]]


def from_outputs(layer: str, outputs: dict[str, str]) -> LayerCost:
    """A seed stack's cost: the sum of its `*MonthlyCostUsd` outputs."""
    items = [(k.removesuffix("MonthlyCostUsd"), float(v)) for k, v in sorted(outputs.items()) if k.endswith("MonthlyCostUsd")]
    return LayerCost(layer, round(sum(usd for _, usd in items), 2), items)


def from_resources(layer: str, cloudformation: Any, stack: str) -> LayerCost:
    """A stack of native resources (template.yaml): each billed type at its price."""
    prices = PRICES["usd_per_month"]
    items = []
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            price = NATIVE.get(resource["ResourceType"])
            if price and not resource["ResourceStatus"].startswith("DELETE"):
                items.append((resource["LogicalResourceId"], float(prices[price])))
    return LayerCost(layer, round(sum(usd for _, usd in items), 2), items)


def left_out() -> list[str]:
    """What every figure leaves out, by type."""
    return [f"{kind}: {what}" for kind, what in PRICES["excluded"].items()]


def label() -> str:
    return f"USD a month at {PRICES['region']} prices of {PRICES['as_of']}"
