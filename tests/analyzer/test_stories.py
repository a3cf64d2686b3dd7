"""Near-duplicate grouping: retweets, reposts and syndicated copies become one story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.analyzer.stories.grouping import StoryGrouper, fingerprint, similarity, story_words
from services.runtime.app.story_memory import recall_stories
from services.store.embedded.index import EmbeddedIndex
from tests.factories import make_mention

DISPATCH = (
    "Le fabricant nantais de vélos électriques Veloria va rappeler 4 000 vélos de sa "
    "gamme urbaine en raison d'un défaut sur la fixation de la batterie, a annoncé "
    "l'entreprise lundi. Les propriétaires concernés seront contactés par courrier et "
    "la réparation sera prise en charge gratuitement chez les revendeurs agréés."
)
# The same dispatch as two news sites republish it: their own lead-in, a credit line.
SYNDICATED = (
    "INFO OUEST-ACTU. " + DISPATCH + " (avec AFP) Lire aussi : notre dossier vélo https://ex.fr/v"
)
TWEET = "Ma batterie Veloria a lâché au bout de 3 mois, SAV aux abonnés absents #veloria"


def test_retweet_and_syndicated_copy_join_the_first_story() -> None:
    grouper = StoryGrouper()
    stories = grouper.assign(
        ["orig", "rt", "article", "copy", "other"],
        [
            TWEET,
            f"RT @julie_velo: {TWEET}",
            DISPATCH,
            SYNDICATED,
            "Trekko ouvre une boutique à Lyon, premiers essais samedi.",
        ],
    )
    assert stories == ["orig", "orig", "article", "article", "other"]


def test_a_copy_in_a_later_batch_finds_its_story() -> None:
    grouper = StoryGrouper()
    grouper.assign(["article"], [DISPATCH])
    assert grouper.assign(["copy"], [SYNDICATED]) == ["article"]
    assert grouper.assign(["article"], [DISPATCH]) == ["article"]  # re-analysis: still the lead


def test_erased_stories_are_forgotten() -> None:
    grouper = StoryGrouper()
    grouper.assign(["article", "orig"], [DISPATCH, TWEET])
    grouper.forget({"article"})
    # A copy of the erased article starts a story of its own; the other story stays.
    assert grouper.assign(["copy", "rt"], [SYNDICATED, f"RT @julie_velo: {TWEET}"]) == [
        "copy",
        "orig",
    ]


def test_short_posts_are_not_grouped_by_accident() -> None:
    grouper = StoryGrouper()
    assert grouper.assign(["a", "b"], ["Bravo !", "Bravo !"]) == ["a", "b"]
    assert grouper.assign(["e"], ["https://t.co/x1"]) == [None]
    # An explicit retweet of a short post is still a copy.
    assert grouper.assign(["c", "d"], ["J'adore Veloria", "RT @c: J'adore Veloria"]) == ["c", "c"]


def test_different_articles_on_one_subject_stay_apart() -> None:
    other = (
        "Veloria a présenté lundi sa nouvelle gamme de vélos cargo, avec une batterie "
        "amovible de 750 Wh et un cadre en aluminium recyclé, vendue à partir de 3 990 euros "
        "chez les revendeurs agréés dès le mois de mars."
    )
    assert similarity(fingerprint(DISPATCH), fingerprint(other)) < 0.3
    assert StoryGrouper().assign(["a", "b"], [DISPATCH, other]) == ["a", "b"]


def test_compared_words_drop_retweet_prefix_links_and_handles() -> None:
    words, retweet = story_words("RT @velo_fan: Génial le @Veloria https://t.co/x1 !")
    assert retweet
    assert words == ["genial", "le"]


def test_memory_is_bounded() -> None:
    grouper = StoryGrouper(capacity=2)
    texts = [f"{TWEET} numéro {n} de la série" for n in ("un", "deux", "trois")]
    grouper.assign(["a", "b", "c"], texts)
    assert len(grouper._exact) == 2


def test_stored_stories_are_recalled_after_a_restart(tmp_path: Path) -> None:
    index = EmbeddedIndex(str(tmp_path / "index"))
    try:
        now = datetime.now(UTC)
        index.upsert(
            [
                make_mention(id="article", story_id="article", text=DISPATCH, published_at=now),
                make_mention(id="tweet", story_id="tweet", text=TWEET, published_at=now),
                make_mention(
                    id="old", story_id="old", text=TWEET + " !", published_at=now - timedelta(30)
                ),
            ]
        )
        grouper = StoryGrouper()  # a new process: nothing in memory
        assert recall_stories(grouper, index) == 2  # the last 7 days only
        assert grouper.assign(["copy", "rt"], [SYNDICATED, f"RT @x: {TWEET}"]) == [
            "article",
            "tweet",
        ]
    finally:
        index.close()
