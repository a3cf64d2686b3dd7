"""French and English words too common to say what mentions are about (for top_terms)."""

from __future__ import annotations

from typing import Final

from services.core.text import tokenize

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
"""

# Folded like indexed words, so "été" and "ete" are the same stop word.
STOP_WORDS: Final = frozenset(tokenize(_FRENCH + " " + _ENGLISH))
