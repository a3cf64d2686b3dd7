"""Which watched brand a user-typed name means: `veloria`, `Vélo ria`, `@veloria` -> Veloria.

One resolver for every place a person types a brand (corrections, share of voice, alert
events, rules, the CLI, the query hints), so they all accept the same spellings (the name
or an alias, case, accents and spacing aside) and refuse the rest with the same sentence,
"no brand is named 'x' (brands: ...; competitors: ...); did you mean ...?".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from services.core.models import Brand, Competitor
from services.core.text import fold_keyword, tokenize

Role = Literal["brand", "competitor"]
ROLES: tuple[Role, ...] = ("brand", "competitor")


class HoldsBrands(Protocol):
    """What holds the workspace's brands (the state store)."""

    def list_brands(self) -> list[Brand]: ...
    def list_competitors(self) -> list[Competitor]: ...


@dataclass(frozen=True, slots=True)
class Watched:
    """A brand or competitor as the workspace declares it."""

    name: str
    role: Role
    entity: Brand | Competitor
    by_alias: bool = False  # whether the typed name was an alias rather than the name


class UnknownBrand(LookupError):
    """No watched name of the asked roles is spelled so; the message lists the known ones."""

    def __init__(self, message: str, *, typed: str, found: Watched | None = None) -> None:
        super().__init__(message)
        self.typed = typed
        # Set when the name is known but in another role (a competitor asked as a brand).
        self.found = found

    def __str__(self) -> str:
        return str(self.args[0])


class BrandNames:
    """The workspace's brands and competitors, looked up by any of their names."""

    def __init__(self, brands: Iterable[Brand], competitors: Iterable[Competitor]) -> None:
        self.brands = list(brands)
        self.competitors = list(competitors)

    @classmethod
    def of(cls, state: HoldsBrands) -> BrandNames:
        """The names a state store holds (the YAML's, synced, and those added by the API)."""
        return cls(state.list_brands(), state.list_competitors())

    @classmethod
    def merged(
        cls,
        *,
        brands: Sequence[Brand],
        competitors: Sequence[Competitor],
        added_brands: Sequence[Brand],
        added_competitors: Sequence[Competitor],
    ) -> BrandNames:
        """The YAML's names and those added or edited through the API (which win)."""
        return cls(
            ({b.name: b for b in brands} | {b.name: b for b in added_brands}).values(),
            ({c.name: c for c in competitors} | {c.name: c for c in added_competitors}).values(),
        )

    def watched(self, roles: Sequence[Role] = ROLES) -> list[Watched]:
        """Every brand, then every competitor (of `roles`), in the workspace's order."""
        found = [Watched(b.name, "brand", b) for b in self.brands if "brand" in roles]
        found += [
            Watched(c.name, "competitor", c) for c in self.competitors if "competitor" in roles
        ]
        return found

    def find(
        self, typed: str, roles: Sequence[Role] = ROLES, *, prefix: bool = False
    ) -> Watched | None:
        """The brand or competitor `typed` names (with `prefix`, the first whose name
        starts so, as `brand:velo*` does), or None. A name wins over another entry's
        alias, and a brand over a competitor."""
        wanted = fold_keyword(typed)

        def named(name: str) -> bool:
            folded = fold_keyword(name)
            return folded.startswith(wanted) if prefix else folded == wanted

        entries = self.watched(roles)
        for entry in entries:
            if named(entry.name):
                return entry
        for entry in entries:
            if any(named(n) for n in entry.entity.all_names()):
                return Watched(entry.name, entry.role, entry.entity, by_alias=True)
        return None

    def resolve(self, typed: str, roles: Sequence[Role] = ROLES) -> Watched:
        """The brand or competitor `typed` names; UnknownBrand listing the known ones."""
        found = self.find(typed, roles)
        if found is not None:
            return found
        raise UnknownBrand(
            self.unknown_message(typed, roles),
            typed=typed,
            found=self.find(typed) if tuple(roles) != ROLES else None,
        )

    def unknown_message(self, typed: str, roles: Sequence[Role] = ROLES, *, shown: str = "") -> str:
        """'no brand is named 'x' (brands: ...; competitors: ...); did you mean Y?'
        (`shown` replaces repr(typed), e.g. with the folded value of a query filter)."""
        role = " or ".join(roles)
        line = f"no {role} is named {shown or repr(typed)} ({self.listing()})"
        close = self.suggest(typed, roles)
        return f"{line}; did you mean {close}?" if close else line

    def listing(self) -> str:
        """'brands: Veloria; competitors: Trekko, Voltaire Cycles' (both, whatever was
        asked: a brand typed where a competitor is wanted is found in the list)."""
        groups: list[tuple[str, Sequence[Brand | Competitor]]] = [
            ("brands", self.brands),
            ("competitors", self.competitors),
        ]
        return "; ".join(
            f"{kind}: {', '.join(e.name for e in group) or 'none'}" for kind, group in groups
        )

    def suggest(self, typed: str, roles: Sequence[Role] = ROLES) -> str | None:
        """The watched name closest to a misspelt `typed` (by its name or an alias)."""
        spellings: dict[str, str] = {}
        for entry in self.watched(roles):
            for name in entry.entity.all_names():
                spellings.setdefault(fold_keyword(name), entry.name)
        close = difflib.get_close_matches(fold_keyword(typed), list(spellings), n=1)
        return spellings[close[0]] if close else None


def names_in(text: str, entity: Brand | Competitor) -> bool:
    """Whether `text` holds the entity's name or an alias as whole words (case, accents
    and punctuation aside: "@veloria" is found in "merci @Veloria !")."""
    words = tokenize(text)
    for name in entity.all_names():
        wanted = tokenize(name)
        n = len(wanted)
        if n and any(words[i : i + n] == wanted for i in range(len(words) - n + 1)):
            return True
    return False
