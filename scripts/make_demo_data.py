"""Writes the bundled demo mentions (services/runtime/data/demo/mentions.jsonl).

All text here is written for Veille: Veloria, Trekko and Voltaire Cycles are
fictional. The output is deterministic (fixed seed) and committed; `veille up`
imports it into an empty store, shifting the dates so the newest is "now".

    python scripts/make_demo_data.py
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "services" / "runtime" / "demo" / "mentions.jsonl"
END = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

FR_POSITIVE = [
    "J'adore mon nouveau {b}, la batterie tient toute la semaine !",
    "Trois mois avec mon {b} : aucun souci, je recommande vivement.",
    "Le service client de {b} a réglé mon problème en une journée, bravo.",
    "Super balade ce week-end avec le {b}, l'assistance est vraiment douce.",
    "{b} vient d'ouvrir une boutique à Lyon, l'accueil était top.",
    "Franchement pas mal du tout le dernier modèle {b}, léger et rapide.",
]
FR_NEGATIVE = [
    "Ça fait trois semaines que j'attends la livraison de mon {b}, aucune réponse du SAV.",
    "Encore une panne de batterie sur mon {b}, je suis vraiment déçu.",
    "Le prix du {b} a encore augmenté, c'est n'importe quoi.",
    "Service client {b} injoignable depuis dix jours, c'est une honte.",
    "Mon {b} grince après deux mois, la qualité n'est plus là.",
]
FR_NEUTRAL = [
    "{b} présentera sa nouvelle gamme au salon du cycle de Paris jeudi.",
    "Quelqu'un a testé le {b} pour des trajets de 20 km par jour ?",
    "Article du jour : comparatif des vélos électriques urbains, dont le {b}.",
    "{b} annonce un partenariat avec une enseigne de location en Bretagne.",
]
EN_POSITIVE = [
    "Loving my new {b}, the battery easily lasts a full week of commuting.",
    "Shout-out to {b} support, they fixed my brakes in a day.",
    "Three months on my {b} and zero issues. Highly recommend.",
    "The new {b} model is light, quick and honestly great value.",
]
EN_NEGATIVE = [
    "Still waiting for my {b} delivery after three weeks, support won't answer.",
    "Second battery failure on my {b}. Really disappointed.",
    "{b} raised prices again, this is getting ridiculous.",
    "My {b} started creaking after two months, quality has gone downhill.",
]
EN_NEUTRAL = [
    "{b} will show its new range at the Paris cycle show on Thursday.",
    "Has anyone tried the {b} for a 20 km daily commute?",
    "Review roundup: urban e-bikes compared, including the {b}.",
]
CROSS = [
    (
        "fr",
        "J'adore mon Veloria, mais le SAV de Trekko a été une catastrophe avec mon ancien vélo.",
    ),
    ("fr", "Entre Veloria et Voltaire Cycles, j'hésite encore, quelqu'un a un avis ?"),
    ("en", "Switched from Trekko to Veloria and the difference in ride quality is huge."),
    ("en", "Voltaire Cycles looks nice but Veloria support is far better."),
    ("fr", "Balade sur le quai Voltaire avec mon vélo Veloria, quelle belle journée."),
]
SITES = {
    "fr": ["www.forum-velo.fr", "blog.cyclurba.fr", "actu-mobilite.fr", "www.lemonde.fr"],
    "en": ["www.ebike-forum.com", "news.cyclingtoday.com", "blog.urbanrider.net"],
}
AUTHORS = {
    "fr": ["claire_b", "Julien M.", "velotaf75", "Sophie Lenoir", "marc.dupuis", "La Rédaction"],
    "en": ["sam_rides", "Emily Carter", "commuter42", "J. Walker", "bikeguy"],
}
BRANDS = ["Veloria", "Veloria", "Veloria", "Trekko", "Voltaire Cycles"]


def _mention(rng: random.Random, n: int, lang: str, text: str) -> dict[str, object]:
    published = END - timedelta(days=rng.uniform(0, 45) ** 1.15 / 45**0.15, hours=rng.random())
    site = rng.choice(SITES[lang])
    return {
        "url": f"https://{site}/posts/{n:04d}",
        "title": "",
        "text": text,
        "author": rng.choice(AUTHORS[lang]),
        "published_at": published.isoformat(),
        "source": "demo",
        "engagement": {"likes": rng.randint(0, 120), "replies": rng.randint(0, 30)},
    }


def main() -> None:
    rng = random.Random(20261122)
    rows = []
    pools = [
        ("fr", FR_POSITIVE, 3),
        ("fr", FR_NEGATIVE, 3),
        ("fr", FR_NEUTRAL, 2),
        ("en", EN_POSITIVE, 2),
        ("en", EN_NEGATIVE, 2),
        ("en", EN_NEUTRAL, 1),
    ]
    weights = [w for _, _, w in pools]
    for n in range(220):
        lang, templates, _ = rng.choices(pools, weights=weights)[0]
        text = rng.choice(templates).format(b=rng.choice(BRANDS))
        rows.append(_mention(rng, n, lang, text))
    # A recent burst of delivery complaints, so the charts show a spike.
    for n in range(220, 250):
        template = rng.choice([FR_NEGATIVE[0], FR_NEGATIVE[3], EN_NEGATIVE[0]])
        lang = "en" if template in EN_NEGATIVE else "fr"
        row = _mention(rng, n, lang, template.format(b="Veloria"))
        row["published_at"] = (END - timedelta(hours=rng.uniform(0, 30))).isoformat()
        rows.append(row)
    for n, (lang, text) in enumerate(CROSS, start=250):
        rows.append(_mention(rng, n, lang, text))
    rows.sort(key=lambda r: str(r["published_at"]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} demo mentions to {OUT}")


if __name__ == "__main__":
    main()
