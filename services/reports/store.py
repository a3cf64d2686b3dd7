"""Where reports live, all under `<data_dir>/reports/`: definitions (the workspace YAML's,
read-only, and the API's, as YAML files in `definitions/`) and renders (`<name>/<id>/`).

A render is written to a temporary folder and renamed into place, so a listing never
shows half a render, and a failed render leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.core.reports import NAME_PATTERN, ReportDefinition, StoredReport
from services.store.state.contract import NameTakenError, NotFoundError

log = logging.getLogger("veille.reports")

_RENDER_ID = re.compile(r"^\d{8}T\d{6}Z$")
FORMATS = ("html", "pdf")
DEFINITIONS = "definitions"  # the folder of the API's definitions, beside the renders'


class ReportNotFound(NotFoundError):
    """No report definition has this name."""


class InvalidDefinition(ValueError):
    """A stored definition no longer validates (saved before a check was added, or
    edited by hand): said field by field, never a traceback."""


class ReadOnlyReport(ValueError):
    """The report is defined in the workspace YAML: edit the file instead."""


class Definitions:
    """Report definitions: the workspace YAML's (read-only), then the API's, each kept as
    `<data_dir>/reports/definitions/NAME.yaml` (written to a temporary file, then renamed)."""

    def __init__(self, data_dir: str | Path, configured: list[ReportDefinition]) -> None:
        self.folder = Path(data_dir) / "reports" / DEFINITIONS
        self.configured = {d.name: d for d in configured}

    def _file(self, name: str) -> Path:
        return self.folder / f"{name}.yaml"

    def _read(self, path: Path) -> StoredReport:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        updated = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return StoredReport.model_validate({**data, "origin": "api", "updated_at": updated})

    def list(self) -> list[StoredReport]:
        """Every definition, by name (a file that no longer validates is skipped, logged)."""
        merged: dict[str, StoredReport] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.yaml")):
                try:
                    merged[path.stem] = self._read(path)
                except (OSError, ValueError, yaml.YAMLError) as exc:
                    log.warning("report definition %s is skipped: %s", path, exc)
        for name, definition in self.configured.items():
            merged[name] = StoredReport.model_validate(
                {**definition.model_dump(), "origin": "config"}
            )
        return [merged[n] for n in sorted(merged)]

    def get(self, name: str) -> StoredReport:
        """One definition; ReportNotFound when absent."""
        if name in self.configured:
            return StoredReport.model_validate(
                {**self.configured[name].model_dump(), "origin": "config"}
            )
        path = self._file(name)
        if not re.match(NAME_PATTERN, name) or not path.is_file():
            raise ReportNotFound(f"no report is named {name!r}")
        try:
            return self._read(path)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'report'}: {e['msg']}"
                for e in exc.errors()
            )
            raise InvalidDefinition(
                f"report {name!r} as stored is not valid ({problems}); replace it with PUT"
            ) from None
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidDefinition(f"report {name!r} cannot be read: {exc}") from None

    def put(self, definition: ReportDefinition, *, create_only: bool) -> None:
        """Saves a definition made over the API (check it with `check_subject` first);
        ConflictError when `create_only` and the name is taken."""
        if definition.name in self.configured:
            raise ReadOnlyReport(
                f"report {definition.name!r} is defined in the workspace YAML; edit it there"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(
            definition.model_dump(mode="json", exclude_defaults=False),
            allow_unicode=True,
            sort_keys=False,
        )
        target = self._file(definition.name)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.folder, prefix=".tmp-", delete=False
        ) as tmp:
            tmp.write(text)
        try:
            if create_only:
                try:
                    os.link(tmp.name, target)  # fails when the name is taken, atomically
                except FileExistsError:
                    raise NameTakenError(
                        f"a report named {definition.name!r} already exists"
                    ) from None
            else:
                os.replace(tmp.name, target)
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    def delete(self, name: str) -> None:
        """Removes an API-made definition (its renders are kept)."""
        if name in self.configured:
            raise ReadOnlyReport(f"report {name!r} is defined in the workspace YAML")
        path = self._file(name)
        if not re.match(NAME_PATTERN, name) or not path.is_file():
            raise ReportNotFound(f"no report is named {name!r}")
        path.unlink()


@dataclass(frozen=True)
class RenderInfo:
    """One kept render of a report."""

    report: str
    id: str  # its UTC time, e.g. 20261207T070000Z
    since: datetime
    until: datetime
    formats: list[str]
    seconds: float
    sent_to: int | None = None  # how many recipients got it (None: not emailed)
    failed: list[RecipientFailure] = field(default_factory=list)
    sent_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        """The `meta.json` kept with the render."""
        return {
            "report": self.report,
            "id": self.id,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "formats": self.formats,
            "seconds": round(self.seconds, 3),
            "sent_to": self.sent_to,
            "failed": [
                {"recipient": f.recipient, "index": f.index, "reason": f.reason}
                for f in self.failed
            ],
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


@dataclass(frozen=True)
class RecipientFailure:
    """A recipient entry the render could not be sent to, and why (kept with the render).
    `recipient` is the entry as the definition wrote it: the address itself, or the name of
    the secret holding the addresses, never an address read from a secret; `index` is its
    place in `recipients` (None in renders kept before it was recorded)."""

    recipient: str
    reason: str
    index: int | None = None


def render_id(moment: datetime) -> str:
    """'20261207T070000Z': sortable, and safe in a path and a URL."""
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _info(report: str, render: str, data: dict[str, Any]) -> RenderInfo:
    sent_at = data.get("sent_at")
    return RenderInfo(
        report=report,
        id=render,
        since=datetime.fromisoformat(data["since"]),
        until=datetime.fromisoformat(data["until"]),
        formats=list(data["formats"]),
        seconds=float(data.get("seconds", 0.0)),
        sent_to=data.get("sent_to"),
        failed=[
            RecipientFailure(f["recipient"], f["reason"], f.get("index"))
            for f in data.get("failed") or []
        ],
        sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
    )


class Renders:
    """Kept renders under `<data_dir>/reports/`."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir) / "reports"

    def save(self, info: RenderInfo, *, html: str, pdf: bytes | None) -> RenderInfo:
        """Writes the render's files, then renames its folder into place."""
        folder = self.root / info.report
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / info.id
        if target.exists():  # two renders in the same second: the later one wins
            shutil.rmtree(target)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
            staging = Path(tmp) / "render"
            staging.mkdir()
            (staging / "report.html").write_text(html, encoding="utf-8")
            if pdf is not None:
                (staging / "report.pdf").write_bytes(pdf)
            (staging / "meta.json").write_text(json.dumps(info.to_json()), encoding="utf-8")
            staging.rename(target)
        return info

    def list(self, report: str) -> list[RenderInfo]:
        """The report's renders, newest first."""
        folder = self.root / report
        if not folder.is_dir():
            return []
        infos = []
        for child in sorted(folder.iterdir(), reverse=True):
            meta = child / "meta.json"
            if _RENDER_ID.match(child.name) and meta.is_file():
                data = json.loads(meta.read_text(encoding="utf-8"))
                infos.append(_info(report, child.name, data))
        return infos

    def record_delivery(
        self, info: RenderInfo, *, sent_to: int, failed: Sequence[RecipientFailure], at: datetime
    ) -> RenderInfo:
        """Writes who got the render, and who did not, into its `meta.json` (a temporary
        file renamed over it)."""
        updated = replace(info, sent_to=sent_to, failed=list(failed), sent_at=at)
        meta = self.root / info.report / info.id / "meta.json"
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=meta.parent, prefix=".tmp-", delete=False
        ) as tmp:
            tmp.write(json.dumps(updated.to_json()))
        os.replace(tmp.name, meta)
        return updated

    def rename(self, old: str, new: str) -> bool:
        """Moves a renamed report's renders to its new name (kept where they are when
        renders of that name are already there); whether they moved."""
        if DEFINITIONS in (old, new):  # that folder holds every definition, not renders
            return False
        source, target = self.root / old, self.root / new
        if source.is_dir() and not target.exists():
            source.rename(target)
            return True
        return False

    def path(self, report: str, render: str, fmt: str) -> Path | None:
        """The file of one render ('latest' for the newest render in that format: an
        HTML-only render does not break a bookmarked latest.pdf), or None."""
        if fmt not in FORMATS:
            return None
        if render == "latest":
            kept = [info for info in self.list(report) if fmt in info.formats]
            if not kept:
                return None
            render = kept[0].id
        if not _RENDER_ID.match(render):
            return None
        file = self.root / report / render / f"report.{fmt}"
        return file if file.is_file() else None
