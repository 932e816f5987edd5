"""CloudWatch operations moto 5.2.5 lacks: PutCompositeAlarm, DescribeAlarmHistory and the
anomaly-detector calls.

API reference: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
- PutCompositeAlarm: stored on moto's own alarm model (its `rule`), so DescribeAlarms lists it
  under CompositeAlarms and SetAlarmState, tags and DeleteAlarms work as for any alarm. Like AWS,
  a rule that names an alarm which does not exist is rejected.
- DescribeAlarmHistory: built from the state changes moto records on each alarm; StateUpdate items
  with AWS's HistoryData JSON, newest first unless ScanBy says otherwise.
- PutAnomalyDetector / DescribeAnomalyDetectors / DeleteAnomalyDetector: kept per account and
  Region, identified by namespace, metric, dimensions and statistic.

Test control: POST /stackhand/cloudwatch/age-alarm {"account", "region", "alarm", "minutes"}
moves the alarm's last state change that far into the past, so a check that waits for an alarm
to hold its state can run now.
"""

import json
import re
from datetime import datetime, timezone

from moto.cloudwatch.exceptions import ResourceNotFoundException, ValidationError
from moto.cloudwatch.models import CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

RULE_REFERENCE = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*\"?([^\")]+?)\"?\s*\)")
MAX_RULE_LENGTH = 10240


# --- composite alarms ----------------------------------------------------------------------


def referenced_alarms(rule: str) -> list[str]:
    """Alarm names (or ARNs) an AlarmRule refers to, e.g. ALARM("cpu") OR OK(mem)."""
    return [name.strip() for name in RULE_REFERENCE.findall(rule)]


def put_composite_alarm(backend: CloudWatchBackend, params: dict) -> None:
    name = params.get("AlarmName")
    rule = params.get("AlarmRule")
    if not name:
        raise ValidationError("1 validation error detected: Value null at 'alarmName' failed to satisfy constraint: Member must not be null")
    if not rule or len(rule) > MAX_RULE_LENGTH:
        raise ValidationError(
            f"1 validation error detected: Value at 'alarmRule' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_RULE_LENGTH}"
        )
    known = {a.name for a in backend.alarms.values()} | {a.alarm_arn for a in backend.alarms.values()}
    missing = [ref for ref in referenced_alarms(rule) if ref not in known]
    if missing:
        raise ValidationError(
            f"Could not save the composite alarm as alarms {missing} in the alarm rule do not exist"
        )
    alarm = backend.put_metric_alarm(
        name=name,
        namespace=None,
        metric_name=None,
        comparison_operator=None,
        evaluation_periods=None,
        period=None,
        threshold=None,
        statistic=None,
        description=params.get("AlarmDescription"),
        dimensions=[],
        alarm_actions=params.get("AlarmActions", []),
        ok_actions=params.get("OKActions", []),
        insufficient_data_actions=params.get("InsufficientDataActions", []),
        actions_enabled=params.get("ActionsEnabled", True),
        rule=rule,
        tags=params.get("Tags", []),
    )
    alarm.alarm_rule = rule
    alarm.actions_suppressor = params.get("ActionsSuppressor")
    alarm.actions_suppressor_wait_period = params.get("ActionsSuppressorWaitPeriod")
    alarm.actions_suppressor_extension_period = params.get("ActionsSuppressorExtensionPeriod")


def _put_composite_alarm_response(self: CloudWatchResponse) -> EmptyResult:
    params = {
        key: self._get_param(key)
        for key in (
            "AlarmName",
            "AlarmRule",
            "AlarmDescription",
            "ActionsSuppressor",
            "ActionsSuppressorWaitPeriod",
            "ActionsSuppressorExtensionPeriod",
        )
    }
    params["AlarmActions"] = self._get_param("AlarmActions", [])
    params["OKActions"] = self._get_param("OKActions", [])
    params["InsufficientDataActions"] = self._get_param("InsufficientDataActions", [])
    params["Tags"] = self._get_param("Tags", [])
    enabled = self._get_param("ActionsEnabled")
    params["ActionsEnabled"] = True if enabled is None else enabled in (True, "true", "True")
    put_composite_alarm(self.cloudwatch_backend, params)
    return EmptyResult()


# --- alarm history -------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def alarm_history(backend: CloudWatchBackend, params: dict) -> list[dict]:
    name = params.get("AlarmName")
    item_type = params.get("HistoryItemType")
    start = params.get("StartDate")
    end = params.get("EndDate")
    alarms = [backend.alarms[name]] if name in backend.alarms else ([] if name else list(backend.alarms.values()))
    wanted_types = params.get("AlarmTypes") or ["MetricAlarm", "CompositeAlarm"]
    items = []
    for alarm in alarms:
        kind = "CompositeAlarm" if alarm.rule is not None else "MetricAlarm"
        if kind not in wanted_types:
            continue
        # moto keeps the state before each change; the current state closes the chain.
        states = [(s[3], s[1], s[4]) for s in alarm.history] + [
            (alarm.state_value, alarm.state_reason, alarm.state_updated_timestamp)
        ]
        for (old_value, old_reason, _), (new_value, new_reason, when) in zip(states, states[1:]):
            data = {
                "version": "1.0",
                "oldState": {"stateValue": old_value, "stateReason": old_reason},
                "newState": {"stateValue": new_value, "stateReason": new_reason},
            }
            items.append(
                {
                    "AlarmName": alarm.name,
                    "AlarmType": kind,
                    "Timestamp": _as_utc(when),
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": f"Alarm updated from {old_value} to {new_value}",
                    "HistoryData": json.dumps(data),
                }
            )
    if item_type:
        items = [i for i in items if i["HistoryItemType"] == item_type]
    if start:
        items = [i for i in items if i["Timestamp"] >= _as_utc(_parse_time(start))]
    if end:
        items = [i for i in items if i["Timestamp"] <= _as_utc(_parse_time(end))]
    ascending = params.get("ScanBy") == "TimestampAscending"
    items.sort(key=lambda i: i["Timestamp"], reverse=not ascending)
    limit = int(params.get("MaxRecords") or 100)
    return items[:limit]


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _describe_alarm_history_response(self: CloudWatchResponse) -> ActionResult:
    params = {
        key: self._get_param(key)
        for key in ("AlarmName", "HistoryItemType", "StartDate", "EndDate", "MaxRecords", "ScanBy")
    }
    params["AlarmTypes"] = self._get_param("AlarmTypes", [])
    return ActionResult({"AlarmHistoryItems": alarm_history(self.cloudwatch_backend, params)})


# --- anomaly detectors ---------------------------------------------------------------------


def _detectors(backend: CloudWatchBackend) -> list[dict]:
    if not hasattr(backend, "stackhand_anomaly_detectors"):
        backend.stackhand_anomaly_detectors = []
    return backend.stackhand_anomaly_detectors


def _detector_key(spec: dict) -> tuple:
    single = spec.get("SingleMetricAnomalyDetector") or spec
    dims = tuple(sorted((d.get("Name"), d.get("Value")) for d in single.get("Dimensions") or []))
    return (single.get("Namespace"), single.get("MetricName"), dims, single.get("Stat"))


def _normalise(spec: dict) -> dict:
    single = spec.get("SingleMetricAnomalyDetector") or {
        k: spec[k] for k in ("Namespace", "MetricName", "Dimensions", "Stat") if spec.get(k) is not None
    }
    if not single.get("Namespace") or not single.get("MetricName") or not single.get("Stat"):
        raise ValidationError("An anomaly detector needs a Namespace, a MetricName and a Stat")
    detector = {"SingleMetricAnomalyDetector": single, "StateValue": "PENDING_TRAINING"}
    for legacy in ("Namespace", "MetricName", "Dimensions", "Stat"):
        if single.get(legacy) is not None:
            detector[legacy] = single[legacy]
    if spec.get("Configuration"):
        detector["Configuration"] = spec["Configuration"]
    return detector


def put_anomaly_detector(backend: CloudWatchBackend, spec: dict) -> None:
    detector = _normalise(spec)
    detectors = _detectors(backend)
    key = _detector_key(detector)
    detectors[:] = [d for d in detectors if _detector_key(d) != key]
    detectors.append(detector)


def delete_anomaly_detector(backend: CloudWatchBackend, spec: dict) -> None:
    key = _detector_key(_normalise(spec))
    detectors = _detectors(backend)
    if not any(_detector_key(d) == key for d in detectors):
        raise ResourceNotFoundException()
    detectors[:] = [d for d in detectors if _detector_key(d) != key]


def describe_anomaly_detectors(backend: CloudWatchBackend, params: dict) -> list[dict]:
    found = []
    for detector in _detectors(backend):
        single = detector["SingleMetricAnomalyDetector"]
        if params.get("Namespace") and single.get("Namespace") != params["Namespace"]:
            continue
        if params.get("MetricName") and single.get("MetricName") != params["MetricName"]:
            continue
        if params.get("Dimensions"):
            wanted = sorted((d["Name"], d["Value"]) for d in params["Dimensions"])
            have = sorted((d.get("Name"), d.get("Value")) for d in single.get("Dimensions") or [])
            if wanted != have:
                continue
        found.append(detector)
    return found


def _spec_from(self: CloudWatchResponse) -> dict:
    return {
        key: self._get_param(key)
        for key in ("Namespace", "MetricName", "Dimensions", "Stat", "Configuration", "SingleMetricAnomalyDetector")
        if self._get_param(key) is not None
    }


def _put_anomaly_detector_response(self: CloudWatchResponse) -> EmptyResult:
    put_anomaly_detector(self.cloudwatch_backend, _spec_from(self))
    return EmptyResult()


def _delete_anomaly_detector_response(self: CloudWatchResponse) -> EmptyResult:
    delete_anomaly_detector(self.cloudwatch_backend, _spec_from(self))
    return EmptyResult()


def _describe_anomaly_detectors_response(self: CloudWatchResponse) -> ActionResult:
    params = {key: self._get_param(key) for key in ("Namespace", "MetricName", "Dimensions")}
    return ActionResult({"AnomalyDetectors": describe_anomaly_detectors(self.cloudwatch_backend, params)})


def age_alarm(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
    from datetime import timedelta

    from moto.cloudwatch.models import cloudwatch_backends

    request = json.loads(body or b"{}")
    backend = cloudwatch_backends[str(request["account"])][request["region"]]
    alarm = backend.alarms.get(request["alarm"])
    if alarm is None:
        return 400, json.dumps({"message": f"no alarm {request['alarm']}"}).encode()
    alarm.state_updated_timestamp -= timedelta(minutes=int(request["minutes"]))
    return 200, b"{}"


def install() -> None:
    from . import routes

    routes.route("POST", "/stackhand/cloudwatch/age-alarm", age_alarm)
    CloudWatchResponse.put_composite_alarm = _put_composite_alarm_response
    CloudWatchResponse.describe_alarm_history = _describe_alarm_history_response
    CloudWatchResponse.put_anomaly_detector = _put_anomaly_detector_response
    CloudWatchResponse.delete_anomaly_detector = _delete_anomaly_detector_response
    CloudWatchResponse.describe_anomaly_detectors = _describe_anomaly_detectors_response
