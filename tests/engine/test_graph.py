"""The engine's dependency order (pure: no emulator)."""

import unittest

import support  # noqa: F401  (puts tests/emulator on the path)
from stackhand_moto.cfn import graph


def resource(properties: dict | None = None, depends_on: object = None) -> dict:
    found: dict = {"Type": "Custom::Thing", "Properties": properties or {}}
    if depends_on is not None:
        found["DependsOn"] = depends_on
    return found


class CreationOrder(unittest.TestCase):
    def test_references_of_every_kind_order_resources(self) -> None:
        resources = {
            "Dashboard": resource({"Body": {"Fn::Sub": "${Baseline.AlarmCount} ${AWS::Region} ${!Literal}"}}),
            "Baseline": resource({"Topic": {"Fn::GetAtt": ["Topic", "TopicArn"]}, "Logs": {"Fn::GetAtt": "Logs.LogGroupName"}}),
            "Logs": resource({"Key": {"Ref": "Key"}}),
            "Topic": resource(depends_on="Key"),
            "Key": resource({"Environment": {"Ref": "Environment"}}),
        }
        order = graph.creation_order(resources)
        for before, after in (("Key", "Logs"), ("Key", "Topic"), ("Topic", "Baseline"), ("Logs", "Baseline"), ("Baseline", "Dashboard")):
            self.assertLess(order.index(before), order.index(after), f"{before} before {after}: {order}")

    def test_independent_resources_keep_template_order(self) -> None:
        self.assertEqual(graph.creation_order({"B": resource(), "A": resource(), "C": resource()}), ["B", "A", "C"])

    def test_sub_variables_of_the_list_form_are_not_resources(self) -> None:
        resources = {"Key": resource(), "Alarm": resource({"Name": {"Fn::Sub": ["${Key}-x", {"Key": "literal"}]}})}
        self.assertEqual(graph.dependencies(resources)["Alarm"], set())

    def test_a_cycle_is_refused_naming_its_resources(self) -> None:
        resources = {"A": resource({"X": {"Ref": "B"}}), "B": resource({"Y": {"Fn::GetAtt": ["A", "Arn"]}})}
        with self.assertRaisesRegex(graph.TemplateError, r"Circular dependency between resources: \['A', 'B'\]"):
            graph.creation_order(resources)

    def test_an_unknown_depends_on_is_refused(self) -> None:
        with self.assertRaisesRegex(graph.TemplateError, "Unresolved resource dependencies"):
            graph.creation_order({"A": resource(depends_on=["Nope"])})


if __name__ == "__main__":
    unittest.main()
