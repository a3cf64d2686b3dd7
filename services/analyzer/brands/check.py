"""How well the tagger recognises one brand, measured on an analyst's corrections it did
not learn from (`veille brands check NAME`).

The corrections (texts, each marked about the brand or not) are split by a hash of the
text: a third is held out, the rest is learned (their passages join the brand's examples
of each sense and, with enough of each kind, choose the brand's threshold: see
ContextJudge.learn). Precision and recall are then counted on the held-out third, with
the workspace alone and after learning, so the analyst sees what the corrections bought.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.analyzer.brands.disambiguation import Correction, Embed
from services.analyzer.brands.tagging import BrandTagger
from services.core.models import Brand, Competitor

HELD_OUT_SHARE = 3  # one correction in three is held out


@dataclass(frozen=True)
class Counts:
    """Precision and recall of "the text names the brand" on some corrections."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def summary(self) -> str:
        """Precision and recall as a person reads them: "n/a" where nothing was tagged (or
        nothing was about the brand), since a held-out third of negatives alone would
        otherwise print a perfect 1.000 / 1.000 that measured nothing."""
        precision = f"{self.precision:.3f}" if self.tp + self.fp else "n/a"
        recall = f"{self.recall:.3f}" if self.tp + self.fn else "n/a"
        return (
            f"precision {precision}  recall {recall}  "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})"
        )


@dataclass(frozen=True)
class CheckResult:
    learned: int  # corrections learned from (of those naming an ambiguous alias)
    offered: int  # corrections not held out (`learned` of them could be used)
    judged_in_context: bool  # whether the brand has aliases corrections can teach
    held_out: int
    before: Counts  # the workspace alone, on the held-out corrections
    after: Counts  # after learning the others
    threshold: float  # the brand's threshold after learning


def is_held_out(correction: Correction) -> bool:
    """A fixed third of the corrections, drawn by a hash of the text."""
    digest = hashlib.sha256(correction.text.encode("utf-8")).digest()
    return digest[0] % HELD_OUT_SHARE == 0


def read_corrections(path: Path, brand: str) -> list[Correction]:
    """Corrections from a JSON-lines file: {"text": ..., "about_brand": true|false} and
    optionally "brand" (lines about another brand are skipped). Raises ValueError naming
    the line of a malformed one."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            text, about = record["text"], record["about_brand"]
            if not isinstance(text, str) or not isinstance(about, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"{path}:{number}: expected a JSON object with a string 'text' and "
                "a boolean 'about_brand'"
            ) from None
        if record.get("brand", brand) == brand:
            out.append(Correction(brand, text, about))
    return out


def _counts(tagger: BrandTagger, name: str, corrections: Sequence[Correction]) -> Counts:
    tagged = [name in tag.names for tag in tagger.tag_many([c.text for c in corrections])]
    pairs = list(zip(tagged, (c.about_brand for c in corrections), strict=True))
    return Counts(
        tp=sum(t and a for t, a in pairs),
        fp=sum(t and not a for t, a in pairs),
        fn=sum(not t and a for t, a in pairs),
        tn=sum(not t and not a for t, a in pairs),
    )


def _embedding_once(embed: Embed) -> Embed:
    """`embed`, embedding each distinct text once: the tagger before learning and the one
    after embed the same descriptions and held-out passages (about half of the check's
    embedding time)."""
    seen: dict[str, NDArray[np.float32]] = {}

    def embed_once(texts: Sequence[str]) -> NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, embed(missing), strict=True))
        if not texts:
            return embed(texts)
        return np.stack([seen[t] for t in texts])

    return embed_once


def check_brand(
    brands: Sequence[Brand],
    competitors: Sequence[Competitor],
    name: str,
    corrections: Sequence[Correction],
    embed: Embed,
) -> CheckResult:
    """Learns from two thirds of `corrections` and measures on the other third."""
    if name not in {b.name for b in brands} | {c.name for c in competitors}:
        known = ", ".join([*(b.name for b in brands), *(c.name for c in competitors)])
        raise ValueError(f"no brand or competitor is named {name!r} (known: {known or 'none'})")
    held_out = [c for c in corrections if is_held_out(c)]
    learned = [c for c in corrections if not is_held_out(c)]
    embed = _embedding_once(embed)  # both taggers read the same prototypes and passages
    before = _counts(BrandTagger(brands, competitors, embed=embed), name, held_out)
    tagger = BrandTagger(brands, competitors, embed=embed)
    used = tagger.learn(learned)
    after = _counts(tagger, name, held_out)
    return CheckResult(
        used,
        len(learned),
        tagger.judge.learns(name),
        len(held_out),
        before,
        after,
        tagger.judge.threshold(name),
    )
