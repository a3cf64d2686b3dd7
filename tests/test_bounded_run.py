"""The outside measurements the hostile-input tests rely on: they see what the command
uses, not what pytest holds, and they stop what runs too long."""

from __future__ import annotations

import sys

from tests.bounded_run import run_bounded


def test_peak_memory_is_the_commands_own() -> None:
    ballast = bytearray(300 * 1024 * 1024)  # the parent holds 300 MB...
    ballast[::4096] = b"x" * len(ballast[::4096])  # ...touched, so resident
    small = run_bounded([sys.executable, "-c", "pass"], timeout=60)
    big = run_bounded(
        [
            sys.executable,
            "-c",
            "b = bytearray(200 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096])",
        ],
        timeout=60,
    )
    del ballast
    assert small.returncode == 0 and small.peak_rss_mb < 100, small
    assert big.returncode == 0 and big.peak_rss_mb >= 200, big


def test_a_command_past_its_time_limit_is_killed() -> None:
    done = run_bounded([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert done.killed and done.seconds < 10
