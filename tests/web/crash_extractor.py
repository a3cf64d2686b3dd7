"""A fake extractor for the extraction pool tests: it kills its worker process (as a
crash in lxml or the OOM killer would; nothing real crashes on demand here) or raises
an unexpected error on marked pages, and extracts every other page for real. Lives in
its own module: the pool's spawned workers import it by name."""

from __future__ import annotations

import os

from services.collector.web.extract import Article
from services.collector.web.extract_worker import extract_page

CRASH_MARK = b"<!-- veille-test: kill the worker -->"
RAISE_MARK = b"<!-- veille-test: raise -->"


def extract_or_crash(html: bytes, url: str) -> Article:
    """Dies on CRASH_MARK pages, raises KeyError on RAISE_MARK ones, extracts the rest."""
    if CRASH_MARK in html:
        os._exit(3)
    if RAISE_MARK in html:
        raise KeyError("a bug in the extractor")
    return extract_page(html, url)
