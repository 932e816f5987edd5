"""make cost: the platform's fixed monthly cost in each environment, layer by layer, beside the
seed platform's stated figures, and what each figure leaves out.

Each environment is deployed on the local platform (the emulator and its CloudFormation engine,
a fresh account per environment): template.yaml, then stacks/security, monitoring and compute
with the seed parameters. The seed stacks' costs are what the providers return as
`EstimatedMonthlyCostUsd` (the stacks output them); template.yaml's own billed resources (its
key and dashboard) are priced from the same file, shared/prices.json.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

import local_cloud  # noqa: E402
import platform_cost  # noqa: E402

ROOT = local_cloud.ROOT
LAYERS = ("security", "monitoring", "compute")
ENVIRONMENTS = ("dev", "qa", "uat", "prod")


def environment_cost(emulator: local_cloud.Emulator, env: str, index: int) -> list[platform_cost.LayerCost]:
    account = emulator.account(f"{100000000000 + index:012d}")
    platform = f"stackhand-{env}"
    result = account.deploy(platform, ROOT / "template.yaml", {"Environment": env})
    if result.status != "CREATE_COMPLETE":
        raise SystemExit(f"{env}: template.yaml ended {result.status}: {result.failures() or result.reason}")
    costs = [platform_cost.from_resources("platform", account.cloudformation, platform)]
    vpc, subnets = local_cloud.network(account)
    params = local_cloud.seed_parameters(env, platform, vpc, subnets)
    for layer in LAYERS:
        result = account.deploy(layer, ROOT / f"stacks/{layer}.yaml", params[layer])
        if result.status != "CREATE_COMPLETE":
            raise SystemExit(f"{env}: stacks/{layer}.yaml ended {result.status}: {result.failures() or result.reason}")
        costs.append(platform_cost.from_outputs(layer, result.outputs))
    return costs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make cost", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", choices=ENVIRONMENTS, help="an environment (repeatable; default all four)")
    parser.add_argument("--binaries", type=Path, default=ROOT / "target/debug", help="the function binaries (default target/debug)")
    parser.add_argument("--items", action="store_true", help="also list each priced resource")
    args = parser.parse_args(argv)
    envs = args.env or list(ENVIRONMENTS)
    emulator = local_cloud.Emulator(args.binaries)
    rows = []
    try:
        for index, env in enumerate(envs):
            started = time.monotonic()
            print(f"  deploying {env} (template.yaml, {', '.join(LAYERS)}) ...", file=sys.stderr, flush=True)
            rows.append((env, environment_cost(emulator, env, index)))
            print(f"  {env} deployed in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        emulator.stop()
    print(f"Fixed monthly cost of the platform, {platform_cost.label()}\n")
    header = f"{'environment':<12}" + "".join(f"{layer:>12}" for layer in ("platform", *LAYERS)) + f"{'total':>10}{'seed says':>11}"
    print(header)
    print("-" * len(header))
    for env, costs in rows:
        total = sum(c.usd for c in costs)
        cells = "".join(f"{c.usd:>12.2f}" for c in costs)
        print(f"{env:<12}{cells}{total:>10.2f}{platform_cost.SEED_FIGURES[env]:>11.2f}")
        if args.items:
            for cost in costs:
                for name, usd in cost.items:
                    print(f"{'':<14}{cost.layer}/{name}: {usd:.2f}")
    print("\nThe seed's figures include what depends on use; these are the part that does not. Left out:")
    for line in platform_cost.left_out():
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
