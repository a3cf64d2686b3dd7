"""An alert's chart as a PNG, without an API key: Slack fetches the images it shows.

The URL carries the event's unguessable chart token instead of a key (see
services/alerting/chart_link.py). A wrong token and a missing event get the same 404,
so the endpoint tells nothing to someone guessing.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.alerting.chart_link import CHART_PATH, chart_png
from services.api.deps import StateDep
from services.api.params import RowId
from services.api.problems import Problem
from services.store.state.contract import NotFoundError

router = APIRouter(tags=["alerts"])

_NOT_FOUND = "no chart here: the link is wrong or the alert has no chart"


@router.get(
    CHART_PATH,
    summary="An alert's chart (PNG), for Slack",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_chart(
    event_id: RowId,
    state: StateDep,
    token: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """The PNG chart of an alert's recent buckets; the token comes from the alert message."""
    try:
        event = state.get_alert_event(event_id)
    except NotFoundError:
        raise Problem(404, "Chart not found", _NOT_FOUND, code="not_found") from None
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    given = token.encode("utf-8")
    if not event.chart_token or not hmac.compare_digest(event.chart_token.encode(), given):
        raise Problem(404, "Chart not found", _NOT_FOUND, code="not_found")
    png = chart_png(event)
    if png is None:
        raise Problem(404, "Chart not found", _NOT_FOUND, code="not_found")
    # The chart of a recorded alert never changes: caches may keep it.
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
