"""Progress that still shows when stderr is a file or a pipe.

On a terminal rich draws live bars; elsewhere it prints nothing until the end, so a
9-minute `veille train > log 2>&1` looks hung. There, each task says one line when it
starts (its name and how many items), then one every tenth of the way or every 30 s,
and one when done. Only names and counts: never the texts themselves.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

#: At most this long between two lines of a running task.
EVERY_SECONDS = 30.0
#: And one line each time a task crosses another tenth of its total.
STEPS = 10


class LineProgress(Progress):
    """A rich Progress; when its console is not a terminal, lines instead of bars."""

    def __init__(self, *columns: Any, console: Console, unit: str = "items", **kwargs: Any):
        self._lines = not console.is_terminal
        # No live display off a terminal: it would only print the bars again at the end.
        super().__init__(*columns, console=console, disable=self._lines, **kwargs)
        self._unit = unit
        self._said: dict[TaskID, tuple[int, float]] = {}  # tenth reached, when last said

    def add_task(
        self,
        description: str,
        start: bool = True,
        total: float | None = 100.0,
        completed: int = 0,
        visible: bool = True,
        **fields: Any,
    ) -> TaskID:
        task_id = super().add_task(description, start, total, completed, visible, **fields)
        if self._lines:
            count = self._count(int(total)) if total is not None else "starting"
            self._say(f"{description}: {count}")
            self._said[task_id] = (0, time.monotonic())
            self._maybe_say(task_id)
        return task_id

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        super().update(task_id, **kwargs)
        self._maybe_say(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._maybe_say(task_id)

    def _maybe_say(self, task_id: TaskID) -> None:
        if not self._lines or task_id not in self._said:
            return
        task = self._tasks[task_id]
        tenth, last = self._said[task_id]
        if tenth > STEPS:  # already said done
            return
        now = time.monotonic()
        total, done = task.total, int(task.completed)
        if total is not None and done >= total:
            self._say(f"{task.description}: done, {self._count(done)} in {_clock(task)}")
            self._said[task_id] = (STEPS + 1, now)
        elif total:
            reached = min(STEPS, int(done * STEPS // total))
            if reached > tenth or now - last >= EVERY_SECONDS:
                share = f"{done / total:.0%}"
                self._say(f"{task.description}: {done}/{int(total)} ({share}) {_clock(task)}")
                self._said[task_id] = (reached, now)
        elif now - last >= EVERY_SECONDS:
            self._say(f"{task.description}: {self._count(done)} so far {_clock(task)}")
            self._said[task_id] = (tenth, now)

    def _count(self, n: int) -> str:
        unit = self._unit[:-1] if n == 1 and self._unit.endswith("s") else self._unit
        return f"{n} {unit}"

    def _say(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)


def _clock(task: Any) -> str:
    seconds = int(task.finished_time or task.elapsed or 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
