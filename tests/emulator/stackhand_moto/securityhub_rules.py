"""Security Hub and STS as key-auditor's Organization run meets them, where moto 5.2.5 is lenient.

Security Hub (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html,
.../API_GetFindings.html, and the ASFF pages of the user guide):
- BatchImportFindings takes at most 100 findings; with the default product ARN
  (`product/<account>/default`) the calling account must be each finding's `AwsAccountId`, and the
  product's account and Region the caller's. Otherwise AccessDeniedException, for the whole call.
- A finding lacking a required attribute, or past a documented limit (Id 512, Title 256,
  Description 1,024 characters; Types `namespace/category/classifier` in a documented namespace)
  fails alone, listed in FailedFindings.
- Once a finding exists, its provider cannot change Workflow, Severity or Types by import (it uses
  FindingProviderFields); Security Hub sets Workflow.Status RESOLVED itself when a NEW or NOTIFIED
  finding's Compliance.Status turns PASSED or its RecordState ARCHIVED.
- GetFindings filters (StringFilter EQUALS / PREFIX / NOT_EQUALS) on the fields key-auditor asks.

STS (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html):
an AssumeRole that carries an ExternalId, or names a role whose trust policy asks for one, needs
the role to exist and the ExternalId to match; otherwise AccessDenied. Other AssumeRole calls keep
moto's behaviour (the harness's one-account-per-test needs no role).
"""

import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.iam.models import iam_backends
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend
from moto.utilities.paginator import paginate

MAX_BATCH = 100
LIMITS = {"Id": 512, "Title": 256, "Description": 1024, "GeneratorId": 512}
REQUIRED = ("AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources",
            "SchemaVersion", "Title", "UpdatedAt")
# https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-type-taxonomy.html
NAMESPACES = {"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
              "Sensitive Data Identifications"}
# Provider-side changes Security Hub ignores on an existing finding.
CUSTOMER_OWNED = ("Workflow", "Severity", "Types", "Note", "UserDefinedFields", "VerificationState")


class AccessDenied(JsonRESTError):
    code = 403

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


class StsAccessDenied(STSClientError):
    code = "AccessDenied"


class InvalidInput(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidInputException", message)


def _problem(finding: dict[str, Any]) -> str | None:
    missing = [name for name in REQUIRED if not finding.get(name)]
    if not (finding.get("Severity") or (finding.get("FindingProviderFields") or {}).get("Severity")):
        missing.append("Severity")
    types = finding.get("Types") or (finding.get("FindingProviderFields") or {}).get("Types")
    if not types:
        missing.append("Types")
    if missing:
        return f"missing required attributes: {', '.join(missing)}"
    for name, limit in LIMITS.items():
        if len(str(finding[name])) > limit:
            return f"{name} is {len(str(finding[name]))} characters; at most {limit}"
    for kind in types:
        parts = kind.split("/")
        if not 1 <= len(parts) <= 3 or parts[0] not in NAMESPACES or any(not p for p in parts):
            return f"Types entry {kind!r} is not namespace/category/classifier in a documented namespace"
    return None


def _batch_import_findings(self: SecurityHubBackend, findings: list[dict[str, Any]]):
    if len(findings) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} findings a call, got {len(findings)}")
    own_product = f"arn:aws:securityhub:{self.region_name}:{self.account_id}:product/{self.account_id}/default"
    for finding in findings:
        if finding.get("ProductArn") != own_product or finding.get("AwsAccountId") != self.account_id:
            raise AccessDenied(
                f"account {self.account_id} in {self.region_name} may import only its own findings "
                f"into {own_product}; got AwsAccountId {finding.get('AwsAccountId')} and ProductArn "
                f"{finding.get('ProductArn')}")
    failed, succeeded = [], 0
    for data in findings:
        problem = _problem(data)
        if problem:
            failed.append({"Id": data.get("Id", ""), "ErrorCode": "InvalidInput", "ErrorMessage": problem})
            continue
        existing = next((f for f in self.findings if f.id == data["Id"]), None)
        if existing is None:
            created = dict(data)
            created.setdefault("Workflow", {"Status": "NEW"})
            created.setdefault("RecordState", "ACTIVE")
            self.findings.append(Finding(data["Id"], created))
        else:
            update = {k: v for k, v in data.items() if k not in CUSTOMER_OWNED}
            before = existing.data
            workflow = (before.get("Workflow") or {}).get("Status", "NEW")
            closing = ((update.get("Compliance") or {}).get("Status") == "PASSED"
                       or update.get("RecordState") == "ARCHIVED")
            before.update(update)
            if closing and workflow in ("NEW", "NOTIFIED"):
                before["Workflow"] = {"Status": "RESOLVED"}
        succeeded += 1
    return len(failed), succeeded, failed


def _matches(value: Any, filters: list[dict[str, str]]) -> bool:
    positive = [f for f in filters if f.get("Comparison") in ("EQUALS", "PREFIX")]
    negative = [f for f in filters if f.get("Comparison") in ("NOT_EQUALS", "PREFIX_NOT_EQUALS")]
    text = "" if value is None else str(value)
    if positive and not any(
        text == f["Value"] if f["Comparison"] == "EQUALS" else text.startswith(f["Value"]) for f in positive
    ):
        return False
    return not any(
        text == f["Value"] if f["Comparison"] == "NOT_EQUALS" else text.startswith(f["Value"]) for f in negative
    )


_FIELDS = {
    "ProductArn": lambda f: f.get("ProductArn"),
    "GeneratorId": lambda f: f.get("GeneratorId"),
    "AwsAccountId": lambda f: f.get("AwsAccountId"),
    "Region": lambda f: f.get("Region"),
    "Id": lambda f: f.get("Id"),
    "RecordState": lambda f: f.get("RecordState"),
    "ComplianceStatus": lambda f: (f.get("Compliance") or {}).get("Status"),
    "WorkflowStatus": lambda f: (f.get("Workflow") or {}).get("Status"),
    "ResourceId": lambda f: ((f.get("Resources") or [{}])[0]).get("Id"),
}


@paginate(pagination_model=SecurityHubBackend.PAGINATION_MODEL)
def get_findings(self: SecurityHubBackend, filters: dict[str, Any] | None = None,
                  sort_criteria: Any = None, max_results: Any = None) -> list[dict[str, Any]]:
    if max_results is not None and not 1 <= int(max_results) <= 100:
        raise InvalidInput("MaxResults must be a number between 1 and 100")
    filters = filters or {}
    unknown = sorted(set(filters) - set(_FIELDS))
    if unknown:
        raise InvalidInput(f"the emulator does not filter on {', '.join(unknown)}")
    return [
        f.as_dict() for f in self.findings
        if all(_matches(_FIELDS[name](f.data), rules) for name, rules in filters.items())
    ]


def _trust_wants(role: Any) -> str | None:
    """The ExternalId the role's trust policy asks for, if any."""
    try:
        document = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return None
    statements = document.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        for operator in ("StringEquals",):
            wanted = ((statement.get("Condition") or {}).get(operator) or {}).get("sts:ExternalId")
            if wanted:
                return wanted if isinstance(wanted, str) else wanted[0]
    return None


def _strict_assume_role(original):
    def assume_role(self: STSBackend, region_name: str, role_session_name: str, role_arn: str, policy: str,
                    duration: int, external_id: str):
        parts = role_arn.split(":")
        account, name = (parts[4], parts[5].split("/")[-1]) if len(parts) == 6 else ("", "")
        role = None
        if account:
            role = next((r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None)
        wanted = _trust_wants(role) if role is not None else None
        if external_id or wanted:
            if role is None:
                raise StsAccessDenied(f"not authorized to perform sts:AssumeRole on {role_arn}")
            if wanted != external_id:
                raise StsAccessDenied(f"not authorized to perform sts:AssumeRole on {role_arn} "
                                      "(the ExternalId does not match the role's trust policy)")
        return original(self, region_name, role_session_name, role_arn, policy, duration, external_id)

    return assume_role


def install() -> None:
    SecurityHubBackend.batch_import_findings = _batch_import_findings
    SecurityHubBackend.get_findings = get_findings
    STSBackend.assume_role = _strict_assume_role(STSBackend.assume_role)
