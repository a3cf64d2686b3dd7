"""Alert events keep how their 'expected' was computed as data: `alert_events.baseline`.

Before, an event held it only as an English sentence (`numbers.baseline_method`), which
the dashboard and the French notifications read back into its parts with regular
expressions, at every reading, tied to the wording of the version that wrote it. Now the
evaluator stores the parts (services/alerting/explanation.py). Older events get theirs
here, read once from their sentence: the sentences older versions wrote have a few fixed
shapes, frozen below, so no reader needs a parser any more. A sentence of another shape
leaves NULL (shown as it is). The figures of the bucket that fired (observed, expected,
score, threshold) come from the event's numbers; its bucket and the rule's sensitivity
were not stored, and stay null.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500  # events read at a time (their numbers are not loaded: a few keys of them)

# The sentences versions up to 0018 wrote (`Rule.baseline_method`, the evaluator's digest
# and new-mention texts), with their seasons' words.
_SEASONS = {
    "all buckets": "none",
    "same hour of day": "daily",
    "same hour of the same weekday": "weekly",
}
_SEASON = "|".join(re.escape(s) for s in _SEASONS)
_MEDIAN = re.compile(
    rf"median of (?P<season>{_SEASON}) over the last (?P<window>\d+)(?P<unit>[dhms])"
    r"(?: x robust level \(median observed/seasonal ratio over the last "
    r"(?P<level>\d+)(?P<level_unit>[dhms])\))?"
    r"; score unit = the usual excess of the (?P<tail>99th|1st) percentile of residuals over "
    r"the same window"
)
_POOLED = re.compile(
    rf"pooled negative share \((?P<season>{_SEASON}), else all buckets\) over the last "
    r"(?P<window>\d+)(?P<unit>[dhms]); scale = binomial sd"
)
_DIGEST = re.compile(
    r"(?P<digest>daily|weekly) digest of (?P<count>\d+) alert\(s\) \((?P<kinds>[^)]*)\)"
)
_NEW = "new matching mentions (by time stored)"
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_FIGURES = ("observed", "expected", "score", "threshold")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


_EVENTS = sa.table(
    "alert_events",
    sa.column("id", sa.BigInteger()),
    sa.column("numbers", _json()),
    sa.column("baseline", _json()),
)


def _parts(sentence: object) -> dict[str, Any] | None:
    """The parts of one sentence of a known shape; None for any other."""
    if not isinstance(sentence, str):
        return None
    if found := _MEDIAN.fullmatch(sentence):
        level = found["level"]
        return {
            "method": "median",
            "season": _SEASONS[found["season"]],
            "window_seconds": int(found["window"]) * _UNIT_SECONDS[found["unit"]],
            "level_seconds": int(level) * _UNIT_SECONDS[found["level_unit"]] if level else None,
            "percentile": 99 if found["tail"] == "99th" else 1,
        }
    if found := _POOLED.fullmatch(sentence):
        return {
            "method": "pooled_share",
            "season": _SEASONS[found["season"]],
            "window_seconds": int(found["window"]) * _UNIT_SECONDS[found["unit"]],
        }
    if sentence == _NEW:
        return {"method": "new_mentions"}
    if found := _DIGEST.fullmatch(sentence):
        kinds = [k for k in found["kinds"].split(", ") if k]
        return {
            "method": "digest",
            "digest": found["digest"],
            "count": int(found["count"]),
            "kinds": kinds,
        }
    return None


def upgrade() -> None:
    op.add_column("alert_events", sa.Column("baseline", _json(), nullable=True))
    conn = op.get_bind()
    numbers = _EVENTS.c.numbers
    columns = [numbers["baseline_method"], *(numbers[key] for key in _FIGURES)]
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_EVENTS.c.id, *columns)
            .where(_EVENTS.c.id > last)
            .order_by(_EVENTS.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for event_id, sentence, *figures in rows:
            parts = _parts(sentence)
            if parts is None:
                continue
            if parts["method"] in ("median", "pooled_share"):
                for key, value in zip(_FIGURES, figures, strict=True):
                    number = isinstance(value, int | float) and not isinstance(value, bool)
                    parts[key] = float(value) if number else None
            stored = {key: value for key, value in parts.items() if value is not None}
            conn.execute(sa.update(_EVENTS).where(_EVENTS.c.id == event_id).values(baseline=stored))
        last = rows[-1][0]


def downgrade() -> None:
    # The sentence stays in numbers.baseline_method: the older version reads that.
    with op.batch_alter_table("alert_events") as batch:
        batch.drop_column("baseline")
