"""One emulator per test module, one fresh account per test, the seed platform's templates."""

import itertools
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

import local_cloud  # noqa: E402

ROOT = local_cloud.ROOT
TEMPLATE = ROOT / "template.yaml"
STACKS = {name: ROOT / "stacks" / f"{name}.yaml" for name in ("security", "monitoring", "compute")}
_ACCOUNTS = itertools.count(1)
_EMULATOR: local_cloud.Emulator | None = None


def binaries() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    return Path(os.environ.get("STACKHAND_FUNCTIONS_DIR") or target / "debug")


def emulator() -> local_cloud.Emulator:
    global _EMULATOR
    if _EMULATOR is None:
        _EMULATOR = local_cloud.Emulator(binaries())
    return _EMULATOR


def stop() -> None:
    global _EMULATOR
    if _EMULATOR is not None:
        _EMULATOR.stop()
        _EMULATOR = None


def new_account() -> local_cloud.Account:
    return emulator().account(f"{os.getpid() % 10000:04d}{next(_ACCOUNTS):08d}")


class PlatformCase(unittest.TestCase):
    """A test with its own account, the platform (template.yaml) deployed as stackhand-<env>."""

    maxDiff = None

    def platform(self, env: str = "dev") -> tuple[local_cloud.Account, str]:
        account = new_account()
        platform_stack = f"stackhand-{env}"
        result = account.deploy(platform_stack, TEMPLATE, {"Environment": env})
        self.assertEqual(result.status, "CREATE_COMPLETE", result.failures())
        return account, platform_stack

    def assertStatus(self, result: local_cloud.StackResult, status: str) -> None:
        self.assertEqual(result.status, status, f"{result.name}: {result.failures() or result.reason}")
