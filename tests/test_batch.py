"""The analysts' batch interface: `veille analyze --input/--output` and `veille eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.runtime.data.batch import evaluate
from tests.cli_runner import veille


def test_evaluate_computes_per_class_and_macro_scores() -> None:
    pairs = [
        ("positive", "positive", "fr"),
        ("positive", "neutral", "fr"),
        ("negative", "negative", "en"),
        ("neutral", "negative", "en"),
    ]
    result = evaluate(pairs)  # type: ignore[arg-type]
    assert result.per_class["positive"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2.0,
    }
    assert result.per_class["negative"]["precision"] == 0.5
    assert result.per_class["neutral"]["f1"] == 0.0
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert result.accuracy == 0.5
    assert set(result.per_language) == {"fr", "en"}


@pytest.mark.slow
def test_analyze_file_writes_one_result_per_valid_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": "J'adore mon Veloria, mais le SAV de Trekko est une catastrophe."},
        {"id": 2, "text": "Still waiting for my Veloria delivery. Support never answers."},
        {"id": "c", "text": ""},
    ]
    source.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{oops\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    result = veille("analyze", "--input", str(source), "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert "4 lines read, 2 analyzed, 2 skipped" in result.stderr
    assert "line 3: needs a non-empty 'text'" in result.stderr
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "2"]
    first = rows[0]
    assert (first["language"], first["brands"], first["competitors"]) == (
        "fr",
        ["Veloria"],
        ["Trekko"],
    )
    assert set(first) == {
        "id",
        "language",
        "brands",
        "competitors",
        "sentiment",
        "topics",
        "story_id",
    }
    # The example workspace's taxonomy: a late delivery nobody at support answers about.
    assert set(rows[1]["topics"]) & {"delivery", "after-sales"}
    per_brand = first["sentiment"]["brands"]
    trekko, veloria = per_brand["Trekko"]["evidence"], per_brand["Veloria"]["evidence"]
    assert any("Trekko" in s for s in trekko["sentences"])
    assert not any("Trekko" in s for s in veloria["sentences"])
    # The words that weighed most, signed: something spoke for "negative" about Trekko.
    assert trekko["words"] and max(w["weight"] for w in trekko["words"]) > 0
    assert first["sentiment"]["evidence"]["sentences"]
    assert per_brand["Trekko"]["label"] == "negative"
    assert rows[1]["sentiment"]["label"] == "negative"


@pytest.mark.slow
def test_eval_prints_scores(tmp_path: Path) -> None:
    labelled = tmp_path / "gold.jsonl"
    rows = [
        {"id": 1, "text": "Service client horrible, je suis furieux.", "label": "negative"},
        {"id": 2, "text": "J'adore ce vélo, il est génial !", "label": 2},
        {"id": 3, "text": "No label here"},
    ]
    labelled.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
    )
    result = veille("eval", str(labelled), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["count"] == 2
    assert 0.0 <= figures["macro_f1"] <= 1.0
    assert "line 3: needs a 'label'" in result.stderr
