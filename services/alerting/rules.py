"""The alert rule model: what to watch, how sensitive, over which baseline (YAML-loadable)."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from services.core.yaml_loading import safe_load_bounded

RuleKind = Literal["volume_spike", "negative_share_spike", "drop"]
Seasonality = Literal["none", "daily", "weekly"]

#: Named sensitivities as score thresholds (higher sensitivity = lower threshold).
#: Volume spikes on buckets of up to 5 minutes: the score is an anomaly
#: likelihood, -log10 of the tail probability of the last hour's mean surprise against
#: that mean over the baseline window (1.5: a 1-in-30 hour, see detectors._likelihood),
#: or the raw score over RAW_PER_UNIT when higher (a burst far out alerts at once). On
#: longer buckets, and for drops, the score is the raw one over RAW_PER_UNIT, so these
#: names keep the previous raw thresholds there (spikes 8.3 / 5 / 2.5, drops 4 / 3 / 2).
#: 'medium' (1.5) and end_after (6 hours) were chosen by leave-one-category-out on NAB's
#: 52 shared series: 1.5 won on every held-out fold (`make bench-nab`, section 2); low and
#: high are set for alert rates on the brand series (section 5). The negative share's
#: score is a two-proportion z.
SENSITIVITY_Z: dict[str, dict[str, float]] = {
    "volume_spike": {"low": 2.5, "medium": 1.5, "high": 0.75},
    "drop": {"low": 2.0, "medium": 1.5, "high": 1.0},
    "negative_share_spike": {"low": 6.0, "medium": 4.0, "high": 3.0},
}
SensitivityName = Literal["low", "medium", "high"]


def threshold_for(kind: RuleKind, sensitivity: str | float) -> float:
    """The score a bucket must reach under a sensitivity name (or a number, returned as is)."""
    if isinstance(sensitivity, str):
        try:
            return SENSITIVITY_Z[kind][sensitivity]
        except KeyError:
            raise ValueError(f"unknown sensitivity {sensitivity!r} (low, medium, high)") from None
    return float(sensitivity)


#: default quiet time that ends an alert's run: a burst and its echoes make one alert.
#: 6 hours (72 five-minute buckets) was chosen over 12 by leave-one-category-out on NAB.
END_AFTER = timedelta(hours=6)

#: `"bucket": "auto"` in a rule's detector: sized from its target's volume when used.
AUTO_BUCKET = "auto"
#: candidate buckets for "auto", shortest first.
AUTO_BUCKETS = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1))

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def format_duration(value: timedelta) -> str:
    """Formats a duration the way rules write it: '14d', '3h', '5m', '90s'."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class RuleError(ValueError):
    """A rule that cannot be loaded or is inconsistent; the message says why."""


def parse_duration(value: Any) -> timedelta:
    """Parses '5m', '1h', '14d', '2w', a number of seconds or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    raise ValueError(f"not a duration: {value!r} (use e.g. '5m', '1h', '14d')")


class Rule(BaseModel):
    """An alert rule: detector kind, sensitivity, minimum volume, bucket and baseline window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "rule"
    kind: RuleKind = "volume_spike"
    #: 'low' | 'medium' | 'high' or a score threshold (> 0); see SENSITIVITY_Z.
    sensitivity: SensitivityName | float = "medium"
    #: spike: at least this many mentions above the expected ones over the scored stretch
    #: (a bucket or a few); drop: at least this many expected over it; negative share:
    #: total mentions in the bucket >= min_volume.
    min_volume: float = Field(default=10.0, ge=0)
    bucket: timedelta = timedelta(minutes=5)
    baseline_window: timedelta = timedelta(days=14)
    seasonality: Seasonality = "daily"
    #: no alert before this much history has been seen (default: 2 days, or 2 weeks if weekly).
    warmup: timedelta | None = None
    #: spike: observed >= expected * min_ratio; drop: observed <= expected / min_ratio.
    min_ratio: float = Field(default=1.5, ge=1.0)
    #: negative share spike: observed share - expected share must reach this.
    min_share_delta: float = Field(default=0.1, ge=0.0, le=1.0)
    #: buckets averaged before comparing (1 = raw buckets).
    smoothing: int = Field(default=1, ge=1, le=288)
    #: consecutive anomalous buckets needed to open a run (and fire): 1 fires on the first.
    min_run: int = Field(default=1, ge=1, le=288)
    #: consecutive normal buckets needed to close a run (and allow a new alert);
    #: default: END_AFTER worth of buckets (one alert per burst, not one per wave of it).
    end_after: int | None = Field(default=None, ge=1, le=10_000)
    #: a bucket absent from the stream: 'zero' mentions (a silent source, for counts) or
    #: 'skip' (a measurement that was not taken: nothing is inferred from the gap).
    missing: Literal["zero", "skip"] = "zero"
    #: window of the robust level (trend) correction applied to the seasonal baseline.
    level_window: timedelta = timedelta(days=3)
    #: relative noise floor: the score's scale is at least this fraction of the expected
    #: value (0: the history's own tails alone set the scale).
    noise_floor: float = Field(default=0.0, ge=0.0, le=10.0)

    @field_validator("bucket", "baseline_window", "level_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("warmup", mode="before")
    @classmethod
    def _optional_duration(cls, value: Any) -> timedelta | None:
        return None if value is None else parse_duration(value)

    @field_validator("sensitivity", mode="before")
    @classmethod
    def _sensitivity(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
            raise ValueError("a numeric sensitivity is a z-score threshold and must be > 0")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.bucket <= timedelta(0):
            raise ValueError("bucket must be positive")
        if self.baseline_window < self.bucket * 2:
            raise ValueError("baseline_window must cover at least two buckets")
        if self.seasonality == "weekly" and self.baseline_window < timedelta(days=7):
            raise ValueError("weekly seasonality needs a baseline_window of at least 7 days")
        return self

    @property
    def threshold(self) -> float:
        """The score a bucket must reach (see SENSITIVITY_Z)."""
        return threshold_for(self.kind, self.sensitivity)

    @property
    def end_after_buckets(self) -> int:
        """Normal buckets in a row that end a run (`end_after`, else END_AFTER of them)."""
        if self.end_after is not None:
            return self.end_after
        return max(1, min(10_000, math.ceil(END_AFTER / self.bucket)))

    @property
    def warmup_period(self) -> timedelta:
        """History needed before the rule may fire."""
        if self.warmup is not None:
            return self.warmup
        return timedelta(days=14) if self.seasonality == "weekly" else timedelta(days=2)


def load_rule(path: str | Path) -> Rule:
    """Loads a rule from a YAML file; raises RuleError with a readable message."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read rule: {exc.strerror or exc}") from exc
    return rule_from_yaml(text, source=str(path))


def rule_from_yaml(text: str, *, source: str = "<rule>") -> Rule:
    """Parses a rule from YAML text; raises RuleError with a readable message."""
    try:
        data = safe_load_bounded(text)  # no alias bomb
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RuleError(f"{source}: a rule must be a mapping of fields, got {type(data).__name__}")
    try:
        return Rule.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'rule'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RuleError(f"{source}: invalid rule: {problems}") from exc


def validation_summary(exc: ValidationError) -> str:
    """'bucket: ...; sensitivity: ...': each problem prefixed with the field it is about."""
    return "; ".join(problem["message"] for problem in field_problems(exc, where="rule"))


def field_problems(exc: ValidationError, *, where: str) -> list[dict[str, Any]]:
    """Each problem of a validation: its field, its code (pydantic's error type, e.g.
    `greater_than_equal`), its limits (`{"ge": 0}`; never the input) and its message
    ('min_volume: Input should be ...'); `where` names a problem of the whole model."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        ctx = err.get("ctx") or {}
        params = {k: v for k, v in ctx.items() if isinstance(v, str | int | float | bool)}
        message = f"{field or where}: {err['msg'].removeprefix('Value error, ')}"
        problems.append({"field": field, "code": err["type"], "params": params, "message": message})
    return problems


class DetectorError(ValueError):
    """Detector settings refused, each problem with its field, code and limits (a client
    says each next to its field); the message is their sentences, joined."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(problem["message"] for problem in problems))
        self.problems = problems


def _refused(field: str, code: str, message: str, **params: Any) -> DetectorError:
    return DetectorError(
        [{"field": field, "code": code, "params": params, "message": f"{field}: {message}"}]
    )


def sensitivity_names() -> list[str]:
    """The named sensitivities a `Rule` takes ('low', 'medium', 'high'), from its type."""
    names: list[str] = []
    todo: list[Any] = [Rule.model_fields["sensitivity"].annotation]
    while todo:
        tp = todo.pop(0)
        if isinstance(tp, str):
            names.append(tp)
        else:
            todo.extend(get_args(tp))
    return names


def check_detector_fields(fields: dict[str, Any]) -> None:
    """Checks the detector fields a `Rule` would accept too loosely or name vaguely;
    raises DetectorError (a ValueError) naming the field."""
    sensitivity = fields.get("sensitivity")
    names = sensitivity_names()
    if isinstance(sensitivity, bool) or (
        sensitivity is not None
        and not isinstance(sensitivity, int | float)
        and sensitivity not in names
    ):
        raise _refused(
            "sensitivity",
            "sensitivity",
            f"{sensitivity!r} is neither {', '.join(map(repr, names))} nor a positive number",
        )
    for name, value in fields.items():
        info = Rule.model_fields.get(name)
        if (
            info is None
            or value is None
            or timedelta not in (info.annotation, *get_args(info.annotation))
        ):
            continue
        try:
            duration = parse_duration(value)
        except ValueError:
            continue  # the Rule's own validation names the bad duration
        if duration < timedelta(0):
            raise _refused(name, "negative_duration", f"must not be negative, got {value!r}")
    try:
        bucket = parse_duration(fields.get("bucket", Rule.model_fields["bucket"].default))
        window = parse_duration(
            fields.get("baseline_window", Rule.model_fields["baseline_window"].default)
        )
    except ValueError:
        return  # the Rule's own validation names the bad duration
    if bucket > timedelta(0) and window > timedelta(0) and bucket * 2 > window:
        raise _refused(
            "bucket",
            "bucket_too_long",
            f"{format_duration(bucket)} is too long for a baseline_window of "
            f"{format_duration(window)} (the baseline needs at least two buckets)",
            baseline_window=format_duration(window),
        )


# -- alert rules as configured through the API -------------------------------------------

AlertKind = Literal["new_mention", "volume_spike", "negative_share_spike", "drop"]
_SECRET_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"
_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Channel(BaseModel):
    """Where to send: a channel type and the NAME of the env var / secrets-file key holding
    the webhook URL or address (never the secret itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["slack", "email", "webhook"]
    target: str = Field(pattern=_SECRET_NAME, examples=["SLACK_WEBHOOK_MARKETING"])
    language: Literal["fr", "en"] = "en"

    @property
    def key(self) -> str:
        """The channel's key in the outbox: 'slack:SLACK_WEBHOOK_MARKETING'."""
        return f"{self.type}:{self.target}"


class QuietHours(BaseModel):
    """No delivery between start and end (local time in `tz`); held until `end`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(pattern=_CLOCK, examples=["22:00"])
    end: str = Field(pattern=_CLOCK, examples=["07:00"])
    tz: str = Field(default="UTC", examples=["Europe/Paris"])

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. 'Europe/Paris')") from None
        return value


NEW_MENTION_LATENESS = timedelta(seconds=5)  # covers acknowledgements still committing


class AlertRule(BaseModel):
    """An alert rule on a saved search or a brand, with its channels and noise control."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[\w][\w .:@/-]{0,199}$")
    target_type: Literal["saved_search", "brand"]
    target: str = Field(min_length=1, max_length=200)
    kind: AlertKind
    #: detector fields of `Rule` (sensitivity, min_volume, bucket, baseline_window, ...).
    detector: dict[str, Any] = Field(default_factory=dict)
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    enabled: bool = True
    #: a bucket is evaluated only once it is closed for this long (late data).
    allowed_lateness: timedelta = timedelta(minutes=10)
    #: new_mention: mentions within this window are batched into one message.
    grouping_window: timedelta = timedelta(minutes=5)
    #: new_mention: at most this many messages per hour (the rest waits, batched).
    max_per_hour: int = Field(default=6, ge=1, le=3600)
    #: new_mention: mentions listed in one message (the count covers them all).
    batch_size: int = Field(default=10, ge=1, le=100)
    #: no new 'firing' alert for this long after the previous one.
    cooldown: timedelta = timedelta(hours=1)
    #: remind while a spike lasts (None: never).
    repeat_interval: timedelta | None = None
    quiet_hours: QuietHours | None = None
    #: daily/weekly: alerts are recorded but delivered as one summary per day or ISO week
    #: (midnight in the quiet-hours time zone, else UTC).
    digest: Literal["off", "daily", "weekly"] = "off"

    @field_validator("allowed_lateness", "grouping_window", "cooldown", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        duration = parse_duration(value)
        if duration < timedelta(0):
            raise ValueError(f"must not be negative, got {value!r}")
        return duration

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _optional_duration(cls, value: Any) -> timedelta | None:
        if value is None:
            return None
        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError(f"must be positive, got {value!r}")
        return duration

    @field_validator("detector")
    @classmethod
    def _detector_fields(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # Checked here (not after the model) so that an error's location is `detector`
        # and its message names the field inside it.
        kind = info.data.get("kind")
        if kind is None:
            return value  # the kind itself is invalid: that error says enough
        if kind == "new_mention":
            if value:
                raise ValueError("a new_mention rule takes no detector settings")
            return value
        # "auto" may choose the longest candidate: the rule must hold with it.
        checked = value
        if value.get("bucket") == AUTO_BUCKET:
            checked = {**value, "bucket": format_duration(AUTO_BUCKETS[-1])}
        check_detector_fields(checked)
        try:
            Rule.model_validate({**checked, "kind": kind})
        except ValidationError as exc:
            raise DetectorError(field_problems(exc, where="rule")) from None
        return value

    @field_serializer("allowed_lateness", "grouping_window", "cooldown", "repeat_interval")
    def _show_duration(self, value: timedelta | None) -> str | None:
        return None if value is None else format_duration(value)

    @model_validator(mode="before")
    @classmethod
    def _drop_saved_warnings(cls, data: Any) -> Any:
        # The API answers a save with `warnings` (secrets not set; `warning_codes` too) and
        # lists rules with a `status`, `error` (and its `error_reason`), `default` and
        # `default_name`: a rule sent back as it came (edit and PUT) is accepted, those
        # recomputed, not stored.
        shown = {
            "warnings",
            "warning_codes",
            "status",
            "error",
            "error_reason",
            "default",
            "default_name",
        }
        if isinstance(data, dict) and shown & data.keys() and cls is AlertRule:
            return {k: v for k, v in data.items() if k not in shown}
        return data

    @model_validator(mode="before")
    @classmethod
    def _near_real_time_new_mentions(cls, data: Any) -> Any:
        # Counting buckets needs them closed and complete (10 min); new mentions are
        # judged by the time they were stored, so only commits in flight need waiting for.
        if (
            isinstance(data, dict)
            and data.get("kind") == "new_mention"
            and "allowed_lateness" not in data
        ):
            return {**data, "allowed_lateness": NEW_MENTION_LATENESS}
        return data

    @model_validator(mode="after")
    def _detector_is_valid(self) -> AlertRule:
        if len({c.key for c in self.channels}) != len(self.channels):
            raise ValueError("a channel is listed twice")
        return self

    @property
    def auto_bucket(self) -> bool:
        """Whether the detector's bucket is "auto" (sized from the target's volume)."""
        return self.detector.get("bucket") == AUTO_BUCKET

    def detector_rule(self, *, auto: timedelta | None = None) -> Rule:
        """The detector `Rule` (named and typed after this rule), an "auto" bucket being
        `auto` (see default_rules.sized_detector); ValueError when invalid."""
        if self.kind == "new_mention":
            raise ValueError("a new_mention rule has no detector")
        fields = {**self.detector, "name": self.name, "kind": self.kind}
        if self.auto_bucket:
            if auto is None:
                raise ValueError(
                    "bucket: 'auto' is sized from the target's stored mentions; "
                    "give a duration (e.g. '1h') to use the rule without them"
                )
            fields["bucket"] = format_duration(auto)
        return Rule.model_validate(fields)
