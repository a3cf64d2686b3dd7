"""French and English function words: too common to say what mentions are about.

Top terms, the dashboard's "why" words and emerging topics leave them out. Compared
folded (`services.core.text.fold`), so "été" and "ete", "très" and "tres" are one word.
Number words ("dix", "ten") are here too: they say how many, not what about.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from services.core.text import MAX_TOKEN_LENGTH, tokenize

_FRENCH = """
a ai aie aient aies ait alors as au aucun aucune aujourd hui auquel aura aurai auraient
aurais aurait auras aurez auriez aurions aurons auront aussi autre autres aux auxquelles
auxquels avaient avais avait avant avec avez aviez avions avoir avons ayant ayez ayons
bah bien c ca car ce ceci cela celle celles celui cependant certain certaine certaines
certains ces cet cette ceux chacun chacune chaque chez ci comme comment contre d dans
de debut dedans dehors depuis des desquelles desquels deja doit donc dont du duquel
durant elle elles en encore entre es est et etaient etais etait etant etc ete etes etiez
etions etre eu eue eues eurent eus eusse eussent eusses eussiez eussions eut eux faire
fait faut fois font furent fus fusse fussent fusses fussiez fussions fut hors ici il ils
j je jusqu jusque l la laquelle le lequel les lesquelles lesquels leur leurs lors lorsque
lui m ma mais me meme memes mes moi moins mon n ne ni non nos notre nous on ont or ou
par parce pas peu peut plus pour pourquoi qu quand que quel quelle quelles quels qui quoi
s sa sans se sera serai seraient serais serait seras serez seriez serions serons seront
ses si sien sienne siens sinon soi soient sois soit sommes son sont sous soyez soyons
suis sur t ta tandis te tel telle telles tels tes toi ton tous tout toute toutes tres tu
un une unes uns v va vers voici voila vont vos votre vous vu y
ça cela celui-ci oui ah oh euh ok bon bref voilà là déjà quoi trop vraiment
après pendant selon malgré puis ensuite enfin toujours jamais rien beaucoup assez chose
choses truc
deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize
vingt trente quarante cinquante soixante cent cents mille premier première
"""

_ENGLISH = """
a about above after again against all also am an and any are aren as at be because been
before being below between both but by can cannot could couldn d did didn do does doesn
doing don down during each even ever few for from further get got had hadn has hasn have
haven having he her here hers herself him himself his how however i if in into is isn it
its itself just ll m me more most much must mustn my myself no nor not now of off on once
one only or other our ours ourselves out over own re s same shall shan she should shouldn
so some such t than that the their theirs them themselves then there these they this
those through to too under until up us ve very via was wasn we were weren what when where
which while who whom why will with won would wouldn yet you your yours yourself yourselves
im ive id dont cant wont didnt doesnt isnt thats its ok oh yes yeah really
still never always something anything nothing thing things lot many
two three four five six seven eight nine ten eleven twelve twenty hundred thousand first
"""

# Folded like indexed words, so "été" and "ete" are the same stop word.
STOP_WORDS: Final = frozenset(tokenize(_FRENCH + " " + _ENGLISH))
FUNCTION_WORDS: Final = STOP_WORDS


def is_function_word(word: str) -> bool:
    """Whether every word of `word` ("je", "ne pas") is a function word or a number."""
    tokens = tokenize(word)
    return all(t in STOP_WORDS or t.isdigit() or len(t) < 2 for t in tokens)


_WRITTEN_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def content_words(*texts: str) -> list[str]:
    """The distinct words of `texts` worth counting, lower-cased with their accents as
    written ("Déçu" -> "déçu"): no function words, numbers or single letters.

    Elided articles are cut off ("l'équipe" -> "équipe"); a hyphenated word stays whole;
    "don't" or "aujourd'hui", all of whose parts are function words, is left out.
    """
    written = [w for text in texts for w in _WRITTEN_WORD.findall(text.lower())]
    return list(dict.fromkeys(filter(None, map(_counted_form, written))))


@lru_cache(maxsize=200_000)
def _counted_form(written: str) -> str:
    """A written word as `content_words` keeps it, or "" when it is left out; memoized
    because words repeat (this is most of the cost of writing a mention to a store)."""
    word = _ELISION.sub("", written).replace("’", "'")
    if len(word) < 2 or len(word) > MAX_TOKEN_LENGTH or is_function_word(word):
        return ""
    return word


# French elided articles and pronouns before a vowel: l'équipe, d'un, qu'il, j'ai.
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu|quoiqu)['’]")
