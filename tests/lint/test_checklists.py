"""The checklists of docs/adding.md, as tests: every resource type a provider serves and every
audit check appears everywhere a user or a suite relies on it. The lists are read from the code,
so a new type or check cannot be added in one place only."""

import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TYPE_CONST = re.compile(r'(?:pub )?const TYPE: &str = "(Custom::[A-Za-z]+)";')
CHECK_ID = re.compile(r'Check::[A-Za-z]+ => "([a-z-]+)"')


def resource_types() -> dict[str, str]:
    """Each Custom:: type the code serves, with its provider's folder name."""
    found = {}
    for source in sorted(ROOT.glob("functions/*-provider/src/*.rs")):
        for resource_type in TYPE_CONST.findall(source.read_text()):
            found[resource_type] = source.parts[-3]
    return found


def read(*patterns: str) -> str:
    return "\n".join(p.read_text() for pattern in patterns for p in sorted(ROOT.glob(pattern)))


class ResourceTypes(unittest.TestCase):
    def test_the_code_serves_the_eleven_documented_types(self) -> None:
        self.assertEqual(len(resource_types()), 11, resource_types())

    def test_every_type_is_documented(self) -> None:
        docs = read("docs/resources.md")
        for resource_type in resource_types():
            self.assertTrue(f"\n## {resource_type}\n" in docs, f"docs/resources.md has no section for {resource_type}")

    def test_every_type_has_an_end_to_end_test(self) -> None:
        tests = read("tests/e2e/*.rs")
        for resource_type in resource_types():
            self.assertTrue(f'"{resource_type}"' in tests, f"no test in tests/e2e/ sends a {resource_type} event")

    def test_every_type_is_in_the_fault_suite(self) -> None:
        faults = read("tests/e2e/faults/*.rs")
        for resource_type in resource_types():
            self.assertTrue(f'"{resource_type}"' in faults, f"tests/e2e/faults/ never drives {resource_type}")

    def test_every_type_has_sample_events_for_its_provider(self) -> None:
        for resource_type, provider in resource_types().items():
            events = read(f"events/{provider}/*.json")
            self.assertTrue(f'"ResourceType": "{resource_type}"' in events, f"events/{provider}/ has no {resource_type} event")


class AuditChecks(unittest.TestCase):
    def checks(self) -> list[str]:
        return CHECK_ID.findall((ROOT / "functions/key-auditor/src/checks.rs").read_text())

    def test_the_checks_are_read_from_the_code(self) -> None:
        self.assertGreaterEqual(len(self.checks()), 8)

    def test_every_check_is_in_the_functions_table(self) -> None:
        table = (ROOT / "docs/functions.md").read_text()
        for check in self.checks():
            self.assertTrue(re.search(rf"\| `{check}` \|", table), f"docs/functions.md's checks table lacks {check}")

    def test_every_check_is_on_the_audit_dashboard(self) -> None:
        template = (ROOT / "template.yaml").read_text()
        dashboard = template[template.index("KeyAuditDashboard:"):]
        for check in self.checks():
            self.assertTrue(f'"{check}"' in dashboard, f"KeyAuditDashboard has no series for {check}")

    def test_every_check_is_expected_by_the_end_to_end_audit(self) -> None:
        audit = (ROOT / "tests/e2e/key_auditor.rs").read_text()
        for check in self.checks():
            self.assertTrue(f'"{check}"' in audit, f"tests/e2e/key_auditor.rs never expects {check}")


if __name__ == "__main__":
    unittest.main()
