"""Rules real AWS enforces and moto 5.2.5 skips, enforced here on moto's own backends so the
end-to-end suites fail where a real deploy would. Each rule names the AWS page it follows;
docs/architecture.md ("The emulator") lists them.

Rules live at the backend, below every protocol (JSON, query, and the CBOR bridge), so one
check covers each operation however it arrives.
"""

import json
import threading
import time
from collections import deque

from moto.cloudwatch.exceptions import CloudWatchException, DashboardInvalidInputError, ValidationError
from moto.cloudwatch.models import CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.exceptions import JsonRESTError
from moto.kms.models import KmsBackend
from moto.logs.exceptions import InvalidParameterException
from moto.logs.models import LogsBackend

# https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (50 tags a resource,
# the aws: prefix reserved in any letter case)
MAX_TAGS = 50
# https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html (Policy: at most 32768)
MAX_KEY_POLICY = 32768
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
# (EvaluationPeriods: a day of periods under an hour, seven days otherwise)
MAX_WINDOW_SHORT_PERIODS = 86400
MAX_WINDOW = 604800
# https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html (25 a key)
ON_DEMAND_ROTATIONS = 25
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}


class KmsError(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str):
        super().__init__(error_type, message)


def _tag_problem(keys: list[str]) -> str | None:
    if len(keys) > MAX_TAGS:
        return f"a resource can have at most {MAX_TAGS} tags; this would make {len(keys)}"
    reserved = [k for k in keys if k.lower().startswith("aws:")]
    if reserved:
        return f"tag keys starting with aws: are reserved: {reserved[0]}"
    return None


# --- KMS ---------------------------------------------------------------------------------------

# https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html: these fail on a
# Disabled key (DisabledException) and on one pending deletion (KMSInvalidStateException).
_NEEDS_ENABLED_KEY = ("create_grant", "enable_key_rotation", "disable_key_rotation", "rotate_key_on_demand")


def _require_enabled(original, operation: str):
    def checked(self: KmsBackend, key_id: str, *args, **kwargs):
        key = self.keys.get(self.get_key_id(key_id))
        if key is not None and key.key_state == "Disabled":
            raise KmsError("DisabledException", f"{key.arn} is disabled.")
        if key is not None and key.key_state == "PendingDeletion":
            raise KmsError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
        return original(self, key_id, *args, **kwargs)

    checked.__name__ = operation
    return checked


def _kms_tags_checked(self: KmsBackend, key_id: str, new_keys: list[str]) -> None:
    existing = self.tagger.get_tag_dict_for_resource(key_id) if key_id else {}
    problem = _tag_problem(sorted(set(existing) | set(new_keys)))
    if problem:
        raise KmsError("TagException", problem)


def _install_kms() -> None:
    for operation in _NEEDS_ENABLED_KEY:
        setattr(KmsBackend, operation, _require_enabled(getattr(KmsBackend, operation), operation))

    rotate_key_on_demand = KmsBackend.rotate_key_on_demand

    def strict_rotate_key_on_demand(self, key_id: str) -> str:
        key = self.keys.get(self.get_key_id(key_id))
        used = sum(1 for r in getattr(key, "rotations", []) if r.get("RotationType") == "ON_DEMAND")
        if used >= ON_DEMAND_ROTATIONS:
            raise KmsError("LimitExceededException", f"{key.arn} has used its {ON_DEMAND_ROTATIONS} on-demand rotations.")
        return rotate_key_on_demand(self, key_id)

    KmsBackend.rotate_key_on_demand = strict_rotate_key_on_demand

    create_key = KmsBackend.create_key

    def strict_create_key(self, policy, key_usage, key_spec, description, tags, *args, **kwargs):
        if policy is not None and len(policy) > MAX_KEY_POLICY:
            raise KmsError("ValidationException", f"1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to {MAX_KEY_POLICY}")
        problem = _tag_problem([t["TagKey"] for t in tags or []])
        if problem:
            raise KmsError("TagException", problem)
        return create_key(self, policy, key_usage, key_spec, description, tags, *args, **kwargs)

    KmsBackend.create_key = strict_create_key

    put_key_policy = KmsBackend.put_key_policy

    def strict_put_key_policy(self, key_id: str, policy: str) -> None:
        if len(policy) > MAX_KEY_POLICY:
            raise KmsError("ValidationException", f"1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to {MAX_KEY_POLICY}")
        return put_key_policy(self, key_id, policy)

    KmsBackend.put_key_policy = strict_put_key_policy

    tag_resource = KmsBackend.tag_resource

    def strict_tag_resource(self, arn: str, tags: dict) -> None:
        _kms_tags_checked(self, self.get_key_id(arn), list(tags))
        return tag_resource(self, arn, tags)

    KmsBackend.tag_resource = strict_tag_resource


# --- CloudWatch ----------------------------------------------------------------------------


def _install_cloudwatch() -> None:
    put_metric_alarm = CloudWatchBackend.put_metric_alarm

    def strict_put_metric_alarm(self, name, namespace, metric_name, comparison_operator, evaluation_periods, period, *args, **kwargs):
        periods = [period] if period else []
        for query in kwargs.get("metric_data_queries") or []:
            query_period = getattr(getattr(query, "metric_stat", None), "period", None)
            if query_period:
                periods.append(query_period)
        for each in periods:
            each, count = int(each), int(evaluation_periods or 1)
            limit = MAX_WINDOW_SHORT_PERIODS if each < 3600 else MAX_WINDOW
            if each * count > limit:
                raise ValidationError(
                    f"The evaluation period ({each * count} s: {count} periods of {each} s) "
                    f"must be at most {limit} s"
                )
        problem = _tag_problem([t["Key"] for t in kwargs.get("tags") or []])
        if problem:
            raise ValidationError(problem)
        return put_metric_alarm(self, name, namespace, metric_name, comparison_operator, evaluation_periods, period, *args, **kwargs)

    CloudWatchBackend.put_metric_alarm = strict_put_metric_alarm

    tag_resource = CloudWatchBackend.tag_resource

    def strict_tag_resource(self, arn: str, tags) -> None:
        new = [t["Key"] for t in tags] if isinstance(tags, list) else list(tags)
        existing = list(self.tagger.get_tag_dict_for_resource(arn))
        problem = _tag_problem(sorted(set(existing) | set(new)))
        if problem:
            raise ValidationError(problem)
        return tag_resource(self, arn, tags)

    CloudWatchBackend.tag_resource = strict_tag_resource

    put_dashboard = CloudWatchBackend.put_dashboard

    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html
    def strict_put_dashboard(self, name: str, body: str):
        if not (1 <= len(name) <= 255) or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            raise DashboardInvalidInputError(
                "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_)."
            )
        return put_dashboard(self, name, body)

    CloudWatchBackend.put_dashboard = strict_put_dashboard


# --- CloudWatch Logs -----------------------------------------------------------------------


def _install_logs() -> None:
    create_log_group = LogsBackend.create_log_group

    # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
    def strict_create_log_group(self, log_group_name: str, tags, **kwargs):
        if log_group_name.startswith("aws/"):
            raise InvalidParameterException(msg="Log group names starting with aws/ are reserved for AWS services.")
        problem = _tag_problem(list(tags or {}))
        if problem:
            raise InvalidParameterException(msg=problem)
        return create_log_group(self, log_group_name, tags, **kwargs)

    LogsBackend.create_log_group = strict_create_log_group

    put_retention_policy = LogsBackend.put_retention_policy

    def strict_put_retention_policy(self, log_group_name: str, retention_in_days) -> None:
        if int(retention_in_days) not in RETENTION_DAYS:
            raise InvalidParameterException(
                constraint=f"Member must satisfy enum value set: {sorted(RETENTION_DAYS)}",
                parameter="retentionInDays",
                value=retention_in_days,
            )
        return put_retention_policy(self, log_group_name, retention_in_days)

    LogsBackend.put_retention_policy = strict_put_retention_policy


# --- Request quotas ------------------------------------------------------------------------

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html: requests
# per second per account and Region. Enforced when serve.py runs with --request-quotas (the
# end-to-end suites do); POST /stackhand/quotas {"account": id, "scale": n} raises one account's,
# as a granted quota increase would. A test's own looks and staging calls carry the user-agent
# app name OBSERVER_APP and are neither counted nor refused: the quotas model the product's
# traffic, and a check must not throttle what it checks (nor fail because it did).
# POST /stackhand/quotas/throttled {"account": id} answers how many calls of each operation were
# refused, so a test can show its load really met the quotas.
ALARM_QUOTAS = {
    "PutMetricAlarm": 3,
    "PutCompositeAlarm": 3,
    "DeleteAlarms": 3,
    "SetAlarmState": 3,
    "DescribeAlarmHistory": 3,
    "DescribeAlarms": 9,
}
QUOTAS = {"enforced": False, "scale": {}}
OBSERVER_APP = "app/stackhand-observer"
_calls: dict = {}
_throttled_calls: dict = {}
_lock = threading.Lock()


class Throttling(CloudWatchException):
    code = "Throttling"


def _admit(account: str, region: str, operation: str) -> None:
    if not QUOTAS["enforced"]:
        return
    limit = ALARM_QUOTAS[operation] * QUOTAS["scale"].get(account, 1)
    now = time.monotonic()
    with _lock:
        window = _calls.setdefault((account, region, operation), deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= limit:
            key = (account, operation)
            _throttled_calls[key] = _throttled_calls.get(key, 0) + 1
            raise Throttling(f"Rate exceeded for {operation}")
        window.append(now)


def _throttled(original, operation: str):
    def checked(self: CloudWatchResponse):
        agents = " ".join(self.headers.get(h, "") for h in ("User-Agent", "X-Amz-User-Agent"))
        if OBSERVER_APP not in agents:
            _admit(self.current_account, self.region, operation)
        return original(self)

    return checked


def _install_quotas() -> None:
    for operation in ALARM_QUOTAS:
        name = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        setattr(CloudWatchResponse, name, _throttled(getattr(CloudWatchResponse, name), operation))

    from . import routes

    def raise_quotas(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body or b"{}")
        QUOTAS["scale"][str(request["account"])] = float(request["scale"])
        return 200, b"{}"

    def throttled(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
        account = str(json.loads(body or b"{}")["account"])
        with _lock:
            counts = {op: n for (acct, op), n in _throttled_calls.items() if acct == account}
        return 200, json.dumps(counts).encode()

    # Registered first: the routes match by prefix.
    routes.route("POST", "/stackhand/quotas/throttled", throttled)
    routes.route("POST", "/stackhand/quotas", raise_quotas)


def install() -> None:
    _install_kms()
    _install_cloudwatch()
    _install_logs()
    _install_quotas()
