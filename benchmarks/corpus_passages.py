"""The texts of labelled brand occurrences, read at run time from ../shared/corpora.

The brand sets (benchmarks/data/brand_context, brand_dev, brand_real) reference posts,
never copy them: an entry's `source` is a file under the corpora and `at` says where in it.
A tweet is line `at` (1-based) of a `labelled/` text file; a page or an API payload is
`CONTEXT_CHARS` either side of character offset `at` of its plain text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

CONTEXT_CHARS = 150  # a page passage: this many characters either side of the word

_SCRIPT_STYLE = re.compile(r"(?is)<(script|style)[^>]*>.*?</\1>")
_TAG = re.compile(r"<[^>]+>")


def plain_text(raw: str) -> str:
    """A page or payload as text: scripts, styles and tags dropped, entities decoded."""
    return html.unescape(_TAG.sub(" ", _SCRIPT_STYLE.sub(" ", raw)))


def _strings(value: Any, out: list[str]) -> None:
    """Every string of a JSON/YAML document, recorded bodies (JSON in a string) opened."""
    if isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)
    elif isinstance(value, str):
        if value.strip()[:1] in "{[":
            try:
                _strings(json.loads(value), out)
                return
            except ValueError:
                pass
        out.append(value)


def payload_text(raw: str, suffix: str) -> str:
    """An API payload (JSON, or a YAML cassette) as text: its strings, one a line."""
    document = json.loads(raw) if suffix == ".json" else yaml.safe_load(raw)
    out: list[str] = []
    _strings(document, out)
    return plain_text("\n".join(out))


def is_labelled(source: str) -> bool:
    """Whether `source` is a labelled tweet file (one post a line), not a page or payload."""
    return source.startswith("labelled/")


def read_passages(entries: Iterable[Mapping[str, Any]], corpora: Path) -> list[str]:
    """Each entry's text, in order: its tweet's line as written, or the passage around its
    offset with white space folded. Each corpus file is read once."""
    files: dict[str, str] = {}
    texts = []
    for entry in entries:
        source, at = entry["source"], entry["at"]
        if source not in files:
            raw = (corpora / source).read_text(encoding="utf-8", errors="replace")
            if is_labelled(source):
                files[source] = raw
            elif source.startswith("api/"):
                files[source] = payload_text(raw, Path(source).suffix)
            else:
                files[source] = plain_text(raw)
        if is_labelled(source):
            texts.append(files[source].splitlines()[at - 1])
        else:
            page = files[source]
            texts.append(" ".join(page[max(0, at - CONTEXT_CHARS) : at + CONTEXT_CHARS].split()))
    return texts
