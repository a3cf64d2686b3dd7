"""What a report is: its subject, its period, its language, its sections and its schedule.

Definitions come from the workspace YAML (`reports:` in config/*.yaml, read-only) and from
the API (kept as YAML files under the data directory). Both are validated by the same
model; whether the brand or saved search exists is checked against the state store by
`services.reports.service.check_subject` before anything is stored or rendered.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parseaddr
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,79}$"
_SECRET_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def address_of(entry: str) -> str | None:
    """The address of `a@example.org` or `Name <a@example.org>` (email.utils' parsing, as
    the addresses in a secret are read), or None when it is not one."""
    entry = entry.strip()
    name, address = parseaddr(entry)
    if not address and not name:
        return None
    if not name and address != entry and f"<{address}>" != entry:
        return None  # parseaddr dropped part of it
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() or c in "<>," for c in address):
        return None
    return address


def needs_smtputf8(address: str) -> bool:
    """A non-ASCII address can only go through an SMTP server advertising SMTPUTF8."""
    return not address.isascii()


class NotAnAddress(ValueError):
    """A recipient that is neither an email address nor a secret's name (`params` names
    it, for a client to say so in its own words)."""

    def __init__(self, value: str) -> None:
        super().__init__(
            f"{value!r} is neither an email address (a@example.org, or "
            '"Name <a@example.org>") nor the name of a secret (VEILLE_REPORT_TO) '
            "holding addresses"
        )
        self.params = {"value": value}


class NoSection(ValueError):
    """A report without any section."""


class PeriodBackwards(ValueError):
    """A custom period whose last day comes before its first."""


class Section(StrEnum):
    """The sections a report can hold, in the order they are laid out."""

    KEY_FIGURES = "key_figures"
    VOLUME_SENTIMENT = "volume_sentiment"
    SHARE_OF_VOICE = "share_of_voice"
    TOPICS = "topics"
    TOP_STORIES = "top_stories"
    AUTHORS_SOURCES = "authors_sources"
    ALERTS = "alerts"
    SAMPLES = "samples"


ALL_SECTIONS = list(Section)
# A custom period's bounds: no mention predates the web, and the previous period (as long
# as the report's, just before it) and the day after the last stay representable dates.
EARLIEST_DAY = date(1990, 1, 1)
LATEST_DAY = date(2199, 12, 31)
Period = Literal["last_week", "last_month", "last_quarter", "custom"]


class Schedule(BaseModel):
    """When the running service renders and sends the report: weekly on Monday or monthly
    on the 1st, at `at` in `timezone` (the report's time zone)."""

    model_config = ConfigDict(extra="forbid")

    every: Literal["week", "month"] = "week"
    at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])


class ReportDefinition(BaseModel):
    """A report: about a brand (sentiment toward it, share of voice against its competitors)
    or a saved search (its mentions; with `brand` too, the sentiment toward that brand)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, examples=["veloria-weekly"])
    title: str = Field(default="", max_length=200, description="defaults to the subject's name")
    brand: str | None = Field(default=None, max_length=200, examples=["Veloria"])
    saved_search: str | None = Field(default=None, max_length=200)
    period: Period = "last_week"
    since: date | None = Field(default=None, description="custom period: first day included")
    until: date | None = Field(default=None, description="custom period: last day included")
    language: Literal["fr", "en"] = "fr"
    timezone: str = Field(default="Europe/Paris", description="IANA time zone of the periods")
    sections: list[Section] = Field(
        default_factory=lambda: list(ALL_SECTIONS),
        description="default: every section that applies (share_of_voice needs a brand)",
    )
    schedule: Schedule | None = Field(default=None, description="none: rendered on demand only")
    recipients: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="email addresses, or names of secrets holding comma-separated addresses",
        examples=[["direction@example.org", "VEILLE_REPORT_TO_MARKETING"]],
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Paris, UTC)") from None
        return value

    @field_validator("since", "until")
    @classmethod
    def _in_range(cls, value: date | None) -> date | None:
        if value is not None and not EARLIEST_DAY <= value <= LATEST_DAY:
            raise ValueError(
                f"{value} is outside the dates a report can cover ({EARLIEST_DAY} to {LATEST_DAY})"
            )
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if _SECRET_NAME.match(value.strip()):
                continue  # a secret's name: its value lists the addresses
            if address_of(value) is None:
                raise NotAnAddress(value)
        return [v.strip() for v in values]

    @field_validator("sections")
    @classmethod
    def _sections(cls, values: list[Section]) -> list[Section]:
        if not values:
            raise NoSection("a report needs at least one section")
        return [s for s in Section if s in set(values)]  # layout order, no repeats

    @model_validator(mode="after")
    def _coherent(self) -> ReportDefinition:
        if not self.brand and not self.saved_search:
            raise ValueError("a report needs a brand or a saved_search")
        if self.period == "custom":
            if self.since is None or self.until is None:
                raise ValueError("a custom period needs since and until (dates, YYYY-MM-DD)")
            if self.until < self.since:
                raise PeriodBackwards(
                    f"the period ends ({self.until}) before it starts ({self.since})"
                )
        elif self.since is not None or self.until is not None:
            raise ValueError("since and until are only for period: custom")
        if not self.brand and "sections" not in self.model_fields_set:
            # The default is every section that applies: share of voice needs a brand.
            self.sections = [s for s in self.sections if s != Section.SHARE_OF_VOICE]
        if not self.brand:
            needs_brand = {Section.SHARE_OF_VOICE} & set(self.sections)
            if needs_brand:
                raise ValueError(
                    "the share_of_voice section needs a brand (its competitors are the brand's)"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The report's time zone."""
        return ZoneInfo(self.timezone)


def recipient_warnings(definition: ReportDefinition) -> list[str]:
    """What may keep a report from some of its recipients, said before it is sent: a
    non-ASCII address needs an SMTP server advertising SMTPUTF8 (the others are sent
    anyway, and the render records who was not)."""
    warnings = []
    for entry in definition.recipients:
        address = address_of(entry)
        if address is not None and needs_smtputf8(address):
            warnings.append(
                f"report {definition.name!r}: recipient {address!r} is not ASCII; it can only "
                "be sent through an SMTP server that advertises SMTPUTF8 (the other "
                "recipients get it anyway; the render lists who did not)"
            )
    return warnings


class StoredReport(ReportDefinition):
    """A definition as listed: where it comes from, and when it was saved."""

    origin: Literal["config", "api"] = "api"
    updated_at: datetime | None = None
