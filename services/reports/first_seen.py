"""When the service first saw each workspace-YAML report: the floor below which none of
its slots counts as missed. An API-made report has its file's time (`updated_at`); a
YAML one has nothing, so without this a new workspace's (or a new install's) reports
were "caught up" on their first day and emailed empty.

Kept as `<data_dir>/reports/.first-seen/NAME` (an ISO time; a report name never starts
with a dot, so no render folder can clash). The file is created exclusively: with
several processes on one data folder, the first one's time stands.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from services.reports.store import Renders

log = logging.getLogger("veille.reports")

FOLDER = ".first-seen"


class FirstSeen:
    """First-seen times of reports, under `<data_dir>/reports/.first-seen/`."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / "reports" / FOLDER

    def floor(self, name: str, *, now: datetime) -> datetime:
        """The report's first-seen time, recording `now` when it has none. A report with
        renders kept from before this marker existed (an upgrade) gets its oldest render's
        time, so a slot it genuinely missed is still caught up."""
        path = self.folder / name
        try:
            return datetime.fromisoformat(path.read_text(encoding="utf-8").strip())
        except FileNotFoundError:
            pass
        except ValueError:
            log.warning("first-seen marker %s is unreadable; ignored", path)
        renders = Renders(self.data_dir).list(name)
        first = min((r.until for r in renders), default=now)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:  # another process recorded it first: its time stands
                return datetime.fromisoformat(path.read_text(encoding="utf-8").strip())
            except ValueError:
                return first
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(first.isoformat())
        return first
