"""Errors as RFC 9457 problem details (`application/problem+json`), worded for people.

No traceback or internal detail ever reaches a client; unexpected errors are logged
with an id the client can quote. Each document has a stable `code` (problem_codes.py),
and each refused field of a 422 its own, so a client can say it in its own language.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.alerting.rules import DetectorError
from services.api.problem_codes import CODES, FIELD_CODES, code_of
from services.core.query import QuerySyntaxError, QueryTooCostly
from services.store.contracts import IndexUnavailable, UnservableRequest
from services.store.state.contract import ConflictError, NameTakenError, NotFoundError

log = logging.getLogger("veille.api")

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(
    request: Request, status: int, title: str, detail: str, **extra: Any
) -> JSONResponse:
    """Builds a problem+json response; its `code` is the one given, else its title's, and
    a refused field given without one takes it too."""
    code = extra.pop("code", None) or code_of(title)
    if isinstance(extra.get("errors"), list):
        extra["errors"] = [{"code": code, **e} for e in extra["errors"]]
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(QuerySyntaxError)
    async def _query(request: Request, exc: QuerySyntaxError) -> JSONResponse:
        if isinstance(exc, QueryTooCostly):  # names the cap, so a client can adapt
            return problem_response(
                request,
                400,
                "Query too costly",
                str(exc),
                position=exc.position,
                expected=exc.expected,
                limit=exc.limit,
            )
        return problem_response(
            request,
            400,
            "Invalid query",
            str(exc),
            position=exc.position,
            expected=exc.expected,
        )

    @app.exception_handler(UnservableRequest)
    async def _unservable(request: Request, exc: UnservableRequest) -> JSONResponse:
        return problem_response(request, 400, "Request cannot be served", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [found for e in exc.errors() for found in _field_errors(e)]
        summary = "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors[:5]
        )
        return problem_response(request, 422, "Invalid request", summary, errors=errors)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem_response(request, 404, "Not found", str(exc.args[0] if exc.args else exc))

    @app.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> JSONResponse:
        code = "name_taken" if isinstance(exc, NameTakenError) else "conflict"
        return problem_response(request, 409, "Conflict", str(exc), code=code)

    @app.exception_handler(IndexUnavailable)
    async def _unavailable(request: Request, exc: IndexUnavailable) -> JSONResponse:
        return problem_response(request, 503, "Mention index unavailable", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            404: "Not found",
            405: "Method not allowed",
            401: "Unauthorized",
            429: "Rate limited",
        }
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is nothing at {request.url.path}; see /docs for the API"
        return problem_response(
            request, exc.status_code, titles.get(exc.status_code, "Error"), detail
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        # The route's template, not the path: a path can hold an author handle.
        route = getattr(request.scope.get("route"), "path", None) or request.url.path
        log.exception("unexpected error %s on %s %s", error_id, request.method, route)
        return problem_response(
            request,
            500,
            "Internal error",
            f"something went wrong on our side; the server log has the details (error {error_id})",
            error_id=error_id,
        )


def _field_errors(error: Any) -> list[dict[str, Any]]:
    """One validation error as {field, message, code, params, path}, worded for people (a
    body that is not JSON says so, rather than "0: JSON decode error"); `code` is
    pydantic's error type or ours (FIELD_CODES), `params` its limits, `path` the field's
    place as a list. Refused detector settings are one such error each, at `detector`,
    their `path` going on into it (["detector", "bucket"])."""
    ctx = error.get("ctx") or {}
    if error.get("type") == "json_invalid":
        reason = ctx.get("error", "")
        message = f"the body is not valid JSON ({reason})".strip()
        return [{"field": "body", "message": message, "code": "json_invalid", "path": ["body"]}]
    loc = list(error["loc"])
    # Only the first item says where (body, query string...): a body field may itself be
    # named `query` (a saved search's) and must keep its name.
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    field = ".".join(str(p) for p in loc)
    found = ctx.get("error")
    if isinstance(found, DetectorError):
        return [
            {
                "field": field,
                "message": problem["message"],
                "code": problem["code"],
                "params": problem["params"],
                "path": [*loc, *problem["field"].split(".")] if problem["field"] else loc,
            }
            for problem in found.problems
        ]
    given = getattr(found, "params", None)  # our errors' own (NotAnAddress: the value)
    params = given if isinstance(given, dict) else ctx
    params = {k: v for k, v in params.items() if k != "error" and isinstance(v, str | int | float)}
    return [
        {
            "field": field,
            # pydantic's "Value error, " prefix says nothing to a person (our words follow)
            "message": str(error["msg"]).removeprefix("Value error, "),
            "code": FIELD_CODES.get(type(found), error["type"]) if found else error["type"],
            "params": params,
            "path": loc,
        }
    ]


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document, worded for people",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {
            "type": "string",
            "description": "a stable code, for a client to word the problem in its own "
            "language: " + "; ".join(f"`{code}`: {meaning}" for code, meaning in CODES.items()),
        },
        "errors": {
            "type": "array",
            "description": "with a 422: each field refused and why",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {
                        "type": "string",
                        "description": "pydantic's error type (`missing`, `string_too_long`, "
                        "`greater_than_equal`...), or ours: "
                        + ", ".join(f"`{c}`" for c in sorted(set(FIELD_CODES.values())))
                        + "; a detector setting's: `sensitivity`, `negative_duration`, "
                        "`bucket_too_long`",
                    },
                    "params": {
                        "type": "object",
                        "description": 'the limits the code refers to (`{"ge": 0}`)',
                    },
                    "path": {
                        "type": "array",
                        "description": 'where the field is: `["detector", "bucket"]`',
                    },
                },
            },
        },
    },
    "required": ["title", "status", "detail", "code"],
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the errors as the API sends them: a 422 is a problem
    document (not FastAPI's default shape), and an operation on a path with an id can
    answer 404."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Invalid request: the problem names each field",
                    "content": content,
                }
            if "{" in path and "404" not in responses:
                responses["404"] = {"description": "Not found", "content": content}
    return schema
