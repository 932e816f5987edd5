"""The SAM transform, applied by the engine as CloudFormation applies it on AWS, with the library
SAM CLI itself uses (`samtranslator`).

`sam deploy` uploads each function's build and rewrites `CodeUri` to its S3 location; locally the
code is the function's binary, named by its `BuildProperties.Binary`. The transform is given a
placeholder S3 location, and the function's `Code` then names the binary so the local Lambda host
(functions.py) can run it.
"""

from typing import Any

SERVERLESS = "AWS::Serverless-2016-10-31"
LOCAL_CODE_BUCKET = "stackhand-local-code"


def needs_transform(template: dict[str, Any]) -> bool:
    transforms = template.get("Transform") or []
    if isinstance(transforms, str):
        transforms = [transforms]
    return SERVERLESS in transforms


def binary_of(function: dict[str, Any], logical_id: str) -> str:
    """The binary a serverless function runs: its cargo-lambda build's `Binary`, else its id."""
    build = (function.get("Metadata") or {}).get("BuildProperties") or {}
    return str(build.get("Binary") or logical_id)


class _AwsManagedPolicies:
    """Managed policy names SAM may expand (`Policies: [AWSLambdaBasicExecutionRole]`)."""

    def load(self) -> dict[str, str]:
        return _NamedPolicies()


class _NamedPolicies(dict):
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and not name.startswith("arn:")

    def __getitem__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self else default


def transform(template: dict[str, Any], parameters: dict[str, Any], region: str) -> dict[str, Any]:
    """The template with every AWS::Serverless resource expanded into CloudFormation's own."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    binaries: dict[str, str] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            binary = binary_of(resource, logical_id)
            binaries[logical_id] = binary
            resource.setdefault("Properties", {})["CodeUri"] = f"s3://{LOCAL_CODE_BUCKET}/{binary}.zip"
    policies = _AwsManagedPolicies()
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    translated = translator.translate(
        template,
        parameter_values=dict(parameters),
        get_managed_policy_map=policies.load,
    )
    for logical_id, binary in binaries.items():
        function = translated["Resources"].get(logical_id)
        if function and function.get("Type") == "AWS::Lambda::Function":
            function["Properties"]["Code"] = {"ZipFile": f"stackhand-binary:{binary}"}
            function.setdefault("Metadata", {})["StackhandBinary"] = binary
    return translated
