"""Headless Chromium driven through the DevTools protocol, for the dashboard's tests.

Enough of the protocol to open a page, run JavaScript in it and wait for a condition:
what a person does (choose a brand, type a key, press a button) is done by the page's
own controls, through the same events.

    with Browser(profile_dir) as browser:
        browser.open("http://127.0.0.1:8000/dashboard/")
        browser.wait_for("document.body.dataset.loaded === 'Veloria'")
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserError(AssertionError):
    """The page threw, or a condition never came true."""


class Browser:
    def __init__(self, profile: Path, *, timeout: float = 30.0) -> None:
        assert CHROMIUM is not None, "Chromium is not installed"
        self.profile = profile
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port = self._debugging_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            pages = [t for t in json.load(answer) if t["type"] == "page"]
        self._socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)

    def _debugging_port(self) -> int:
        # Chromium writes the port it chose into the profile folder.
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self._process.poll() is not None:
                raise BrowserError("Chromium exited at start")
            time.sleep(0.05)
        raise BrowserError("Chromium did not open its debugging port")

    def _send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result

    def open(self, url: str) -> None:
        self._send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self._send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> Any:
        """Waits until the expression is truthy; returns its value."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"never true: {expression}")

    def text(self, element_id: str) -> str:
        return str(self.evaluate(f"document.getElementById({json.dumps(element_id)}).textContent"))

    def select(self, element_id: str, value: str) -> None:
        """Sets a form control (a <select>, a day field) as a person would: its value, then
        the change event the page listens to."""
        found = self.evaluate(
            f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
            f" if (!e) return false; e.value = {json.dumps(value)};"
            " e.dispatchEvent(new Event('change')); return true; })()"
        )
        if not found:
            raise BrowserError(f"no element #{element_id}")

    def visible(self, element_id: str) -> bool:
        """Laid out on the page (not hidden by the script or by CSS)."""
        found = self.evaluate(
            f"(() => {{ const e = document.getElementById({json.dumps(element_id)});"
            " return !!e && e.getClientRects().length > 0; })()"
        )
        return bool(found)

    def before_each_page(self, script: str) -> None:
        """Runs `script` in every page opened from now on, before the page's own scripts."""
        self._send("Page.enable")  # without it, the script is not run
        self._send("Page.addScriptToEvaluateOnNewDocument", source=script)

    def resize(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Lays the page out as on a screen of that size (CSS pixels, scale 1)."""
        self._send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def click_at(self, x: float, y: float) -> None:
        """A mouse click at a point of the viewport, as a person's (pressed, released)."""
        for kind in ("mousePressed", "mouseReleased"):
            self._send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def go_offline(self) -> None:
        """Cuts the page off the network, as a dropped connection or a stopped server would."""
        self._send("Network.enable")
        self._send(
            "Network.emulateNetworkConditions",
            offline=True,
            latency=0,
            downloadThroughput=-1,
            uploadThroughput=-1,
        )

    def download_to(self, folder: Path) -> None:
        """Saves the files the page downloads into `folder`."""
        self._send("Page.setDownloadBehavior", behavior="allow", downloadPath=str(folder))

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        """A PNG of the page (the whole of it, not only the viewport, when full_page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self._send("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params.update(captureBeyondViewport=True, clip=clip)
        shot = self._send("Page.captureScreenshot", **params)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def utc_days_since(start: datetime) -> list[date]:
    """The UTC days from `start` (read before a page loaded) to now: one, or two when the load
    crossed midnight, so a test can accept either day the page may have called today."""
    first, last = start.astimezone(UTC).date(), datetime.now(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
