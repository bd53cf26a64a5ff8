"""One error shape for every answer: Spotify's `{"error": {"status": 400, "message": "..."}}`,
whatever raised it (the core, parameter validation, routing, or a bug)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from musicrec.api.deps import JSON
from musicrec.errors import MusicrecError

log = logging.getLogger("musicrec.api")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON({"error": {"status": status, "message": message}}, status_code=status,
                headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0]
    name = str(first["loc"][-1]) if first.get("loc") else "request"
    if first.get("type") == "missing":
        return f"missing required parameter {name}"
    return f"invalid {name}: {first['msg']}"


def add_error_handlers(app: FastAPI) -> None:
    async def expected(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, MusicrecError)
        return _error(exc.status, str(exc))

    async def validation(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, RequestValidationError)
        return _error(400, _validation_message(exc))

    async def http(request: Request, exc: Exception) -> JSON:
        assert isinstance(exc, HTTPException)
        message = {404: f"no endpoint at {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}
        return _error(exc.status_code, message.get(exc.status_code, exc.detail), exc.headers)

    async def bug(request: Request, exc: Exception) -> JSON:
        log.exception("unhandled error answering %s %s", request.method, request.url.path)
        return _error(500, "internal server error")

    app.add_exception_handler(MusicrecError, expected)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(Exception, bug)
