"""CloudWatch alarm mute rules, which moto 5.2.5 lacks: PutAlarmMuteRule, GetAlarmMuteRule,
ListAlarmMuteRules and DeleteAlarmMuteRule.

API reference: https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutAlarmMuteRule.html
- A rule mutes the alarms it names (at most 100) for `Duration` (ISO 8601, PT1M to P15D) from
  each time its schedule fires: `at(yyyy-MM-ddThh:mm)` once, or `cron(m h dom mon dow)` (with
  `*`, `-`, `,` and English month and day names) on repeat, read in `Timezone` (UTC by default),
  between StartDate and ExpireDate.
- Status, computed when asked as AWS reports it: ACTIVE while a mute window is open, EXPIRED
  after ExpireDate (or after a one-time window closed), SCHEDULED otherwise.
- A name that exists is updated; an unknown one is ResourceNotFound on Get.
"""

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from moto.cloudwatch.exceptions import ResourceNotFoundException, ValidationError
from moto.cloudwatch.models import CloudWatchBackend
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

MAX_TARGETS = 100
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=15)
AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2})\)$")
CRON = re.compile(r"^cron\(([^)]*)\)$")
DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (lowest, highest, names) of minute, hour, day of month, month, day of week (0 = Sunday).
FIELDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 6, DAYS)]


def _rules(backend: CloudWatchBackend) -> dict:
    if not hasattr(backend, "stackhand_mute_rules"):
        backend.stackhand_mute_rules = {}
    return backend.stackhand_mute_rules


def parse_duration(text: str) -> timedelta:
    match = DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise ValidationError(f"Duration {text!r} is not an ISO 8601 duration such as PT4H or P2DT12H")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise ValidationError(f"Duration {text!r} must be between PT1M and P15D")
    return duration


def _cron_values(field: str, index: int) -> set[int]:
    low, high, names = FIELDS[index]

    def number(token: str) -> int:
        if names and token.upper() in names:
            return names.index(token.upper()) + (1 if index == 3 else 0)
        value = int(token)
        if not low <= value <= high:
            raise ValueError(token)
        return value

    values: set[int] = set()
    for part in field.split(","):
        if part == "*":
            values.update(range(low, high + 1))
        elif "-" in part:
            first, last = part.split("-", 1)
            values.update(range(number(first), number(last) + 1))
        else:
            values.add(number(part))
    return values


def parse_cron(body: str) -> list[set[int]]:
    fields = body.split()
    try:
        if len(fields) != 5:
            raise ValueError(body)
        return [_cron_values(field, i) for i, field in enumerate(fields)]
    except ValueError:
        raise ValidationError(f"cron({body}) is not a cron expression of five fields: minutes hours day-of-month month day-of-week")


def _fires(cron: list[set[int]], moment: datetime) -> bool:
    weekday = (moment.weekday() + 1) % 7
    return (moment.minute in cron[0] and moment.hour in cron[1] and moment.day in cron[2]
            and moment.month in cron[3] and weekday in cron[4])


def _zone(name: str | None):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Timezone {name!r} is not a time zone identifier such as Europe/London")


def status(rule: dict, now: datetime) -> str:
    schedule = rule["Rule"]["Schedule"]
    zone = _zone(schedule.get("Timezone"))
    duration = parse_duration(schedule["Duration"])
    if rule.get("ExpireDate") and now >= rule["ExpireDate"]:
        return "EXPIRED"
    if rule.get("StartDate") and now < rule["StartDate"]:
        return "SCHEDULED"
    local = now.astimezone(zone).replace(second=0, microsecond=0)
    at = AT.match(schedule["Expression"])
    if at:
        opens = datetime.fromisoformat(at.group(1)).replace(tzinfo=zone)
        if opens <= now < opens + duration:
            return "ACTIVE"
        return "EXPIRED" if now >= opens + duration else "SCHEDULED"
    cron = parse_cron(CRON.match(schedule["Expression"]).group(1))
    minutes = int(duration.total_seconds() // 60)
    for back in range(minutes):
        fired = local - timedelta(minutes=back)
        if _fires(cron, fired) and now < fired + duration:
            return "ACTIVE"
    return "SCHEDULED"


def _check(params: dict) -> None:
    name = params.get("Name") or ""
    if not 1 <= len(name) <= 255:
        raise ValidationError("Name must be between 1 and 255 characters")
    schedule = ((params.get("Rule") or {}).get("Schedule")) or {}
    expression = schedule.get("Expression") or ""
    if not 1 <= len(expression) <= 256:
        raise ValidationError("Rule.Schedule.Expression must be between 1 and 256 characters")
    if AT.match(expression):
        datetime.fromisoformat(AT.match(expression).group(1))
    elif CRON.match(expression):
        parse_cron(CRON.match(expression).group(1))
    else:
        raise ValidationError(f"Expression {expression!r} must be cron(...) or at(yyyy-MM-ddThh:mm)")
    parse_duration(schedule.get("Duration"))
    _zone(schedule.get("Timezone"))
    targets = ((params.get("MuteTargets") or {}).get("AlarmNames")) or []
    if len(targets) > MAX_TARGETS:
        raise ValidationError(f"MuteTargets.AlarmNames can name at most {MAX_TARGETS} alarms, got {len(targets)}")
    start, expire = params.get("StartDate"), params.get("ExpireDate")
    if start and expire and expire <= start:
        raise ValidationError("ExpireDate must be after StartDate")


def _moment(value):
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _arn(self: CloudWatchResponse, name: str) -> str:
    return f"arn:aws:cloudwatch:{self.region}:{self.current_account}:alarm-mute-rule:{name}"


def _summary(rule: dict, now: datetime) -> dict:
    summary = {
        "AlarmMuteRuleArn": rule["AlarmMuteRuleArn"],
        "Status": status(rule, now),
        "MuteType": "ONE_TIME" if AT.match(rule["Rule"]["Schedule"]["Expression"]) else "RECURRING",
        "LastUpdatedTimestamp": rule["LastUpdatedTimestamp"],
    }
    if rule.get("ExpireDate"):
        summary["ExpireDate"] = rule["ExpireDate"]
    return summary


def _put(self: CloudWatchResponse) -> EmptyResult:
    params = {key: self._get_param(key) for key in ("Name", "Description", "Rule", "MuteTargets", "StartDate", "ExpireDate")}
    params["StartDate"] = _moment(params["StartDate"])
    params["ExpireDate"] = _moment(params["ExpireDate"])
    _check(params)
    rule = {k: v for k, v in params.items() if v is not None}
    rule["AlarmMuteRuleArn"] = _arn(self, params["Name"])
    rule["LastUpdatedTimestamp"] = datetime.now(timezone.utc)
    _rules(self.cloudwatch_backend)[params["Name"]] = rule
    return EmptyResult()


def _get(self: CloudWatchResponse) -> ActionResult:
    name = self._get_param("AlarmMuteRuleName")
    rule = _rules(self.cloudwatch_backend).get(name)
    if rule is None:
        raise ResourceNotFoundException()
    now = datetime.now(timezone.utc)
    return ActionResult({**rule, **_summary(rule, now)})


def _list(self: CloudWatchResponse) -> ActionResult:
    alarm = self._get_param("AlarmName")
    statuses = self._get_param("Statuses") or []
    now = datetime.now(timezone.utc)
    found = []
    for rule in _rules(self.cloudwatch_backend).values():
        if alarm and alarm not in ((rule.get("MuteTargets") or {}).get("AlarmNames") or []):
            continue
        summary = _summary(rule, now)
        if statuses and summary["Status"] not in statuses:
            continue
        found.append(summary)
    found.sort(key=lambda s: s["AlarmMuteRuleArn"])
    start = int(self._get_param("NextToken") or 0)
    limit = int(self._get_param("MaxRecords") or 50)
    page = found[start : start + limit]
    result = {"AlarmMuteRuleSummaries": page}
    if start + limit < len(found):
        result["NextToken"] = str(start + limit)
    return ActionResult(result)


def _delete(self: CloudWatchResponse) -> EmptyResult:
    _rules(self.cloudwatch_backend).pop(self._get_param("AlarmMuteRuleName"), None)
    return EmptyResult()


def install() -> None:
    CloudWatchResponse.put_alarm_mute_rule = _put
    CloudWatchResponse.get_alarm_mute_rule = _get
    CloudWatchResponse.list_alarm_mute_rules = _list
    CloudWatchResponse.delete_alarm_mute_rule = _delete
