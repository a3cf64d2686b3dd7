"""Brands and competitors: CRUD."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.api.deps import AuthDep, ContextDep, StateDep
from services.api.problems import Problem
from services.core.models import Brand, Competitor
from services.store.state.contract import StateStore

router = APIRouter(tags=["brands"], dependencies=[AuthDep])


def _check_editable(state: StateStore, name: str) -> None:
    if state.brand_origin(name) == "config":
        raise Problem(
            409,
            "Defined in the config files",
            f"brand '{name}' comes from the workspace YAML; edit it there",
        )


def _competitor_editable(state: StateStore, name: str) -> None:
    if state.competitor_origin(name) == "config":  # NotFoundError: a 404
        raise Problem(
            409,
            "Defined in the config files",
            f"competitor '{name}' comes from the workspace YAML; edit it there",
        )


def _check_competitors(state: StateStore, brand: Brand) -> None:
    known = {c.name.casefold() for c in state.list_competitors()}
    missing = [c for c in brand.competitors if c.casefold() not in known]
    if missing:
        raise Problem(
            422,
            "Unknown competitor",
            f"declare {', '.join(missing)} first with POST /api/v1/competitors",
        )


@router.get("/brands", summary="List brands")
def list_brands(ctx: ContextDep, state: StateDep) -> list[Brand]:
    """Every brand watched: the workspace YAML's first, in its order (the dashboard opens
    on the first), then those added over the API, by name."""
    order = {b.name: i for i, b in enumerate(ctx.workspace.brands)}
    return sorted(state.list_brands(), key=lambda b: (order.get(b.name, len(order)), b.name))


@router.post("/brands", status_code=status.HTTP_201_CREATED, summary="Add a brand")
def create_brand(brand: Brand, state: StateDep, ctx: ContextDep) -> Brand:
    """Adds a brand; new mentions are tagged with it from now on."""
    _check_competitors(state, brand)
    state.put_brand(brand, origin="api", create_only=True)
    ctx.brands_changed()
    return state.get_brand(brand.name)


@router.get("/brands/{name}", summary="Get a brand")
def get_brand(name: str, state: StateDep) -> Brand:
    """One brand by name."""
    return state.get_brand(name)


@router.put("/brands/{name}", summary="Replace a brand")
def replace_brand(name: str, brand: Brand, state: StateDep, ctx: ContextDep) -> Brand:
    """Replaces a brand added through the API."""
    if brand.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    state.get_brand(name)
    _check_editable(state, name)
    _check_competitors(state, brand)
    state.put_brand(brand, origin="api")
    ctx.brands_changed()
    return state.get_brand(name)


@router.delete("/brands/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a brand")
def delete_brand(name: str, state: StateDep, ctx: ContextDep) -> Response:
    """Deletes a brand added through the API; mentions already tagged keep their tag."""
    state.get_brand(name)
    _check_editable(state, name)
    state.delete_brand(name)
    ctx.brands_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/competitors", summary="List competitors")
def list_competitors(state: StateDep) -> list[Competitor]:
    """Every competitor declared."""
    return state.list_competitors()


@router.post("/competitors", status_code=status.HTTP_201_CREATED, summary="Add a competitor")
def create_competitor(competitor: Competitor, state: StateDep, ctx: ContextDep) -> Competitor:
    """Declares a competitor so brands can list it."""
    if any(c.name.casefold() == competitor.name.casefold() for c in state.list_competitors()):
        raise Problem(
            409, "Conflict", f"competitor '{competitor.name}' already exists", code="name_taken"
        )
    state.put_competitor(competitor, origin="api")
    ctx.brands_changed()
    return competitor


@router.get("/competitors/{name}", summary="Get a competitor")
def get_competitor(name: str, state: StateDep) -> Competitor:
    """One competitor by name."""
    state.competitor_origin(name)  # NotFoundError: a 404
    return next(c for c in state.list_competitors() if c.name == name)


@router.put("/competitors/{name}", summary="Replace a competitor")
def replace_competitor(
    name: str, competitor: Competitor, state: StateDep, ctx: ContextDep
) -> Competitor:
    """Replaces a competitor added through the API (its aliases, exclusions...)."""
    if competitor.name != name:
        raise Problem(400, "Name mismatch", "the body's name must match the URL")
    _competitor_editable(state, name)
    state.put_competitor(competitor, origin="api")
    ctx.brands_changed()
    return competitor


@router.delete(
    "/competitors/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a competitor"
)
def delete_competitor(name: str, state: StateDep, ctx: ContextDep) -> Response:
    """Deletes a competitor added through the API, once no brand lists it; mentions already
    tagged keep their tag."""
    _competitor_editable(state, name)
    # A brand naming a competitor that is gone could not be saved again (PUT would 422).
    listing = [
        b.name
        for b in state.list_brands()
        if name.casefold() in {c.casefold() for c in b.competitors}
    ]
    if listing:
        raise Problem(
            409,
            "Competitor in use",
            f"remove {name} from the competitors of {', '.join(listing)} first "
            "(PUT /api/v1/brands/NAME)",
        )
    state.delete_competitor(name)
    ctx.brands_changed()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
