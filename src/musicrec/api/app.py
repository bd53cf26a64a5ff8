"""The REST API: Spotify's Web API for the songs of a local library.

A thin layer: handlers parse the query, call the core (`Library`, `Albums`) and shape the
answer as Spotify would (`musicrec.api.spotify`), serialised with orjson. Handlers that compute
are plain `def`, so FastAPI runs them in its thread pool while numpy and faiss work outside the
event loop.

Every error, whether raised by the core, by parameter validation or by routing, answers with
Spotify's error object `{"error": {"status": 400, "message": "..."}}`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musicrec import __version__
from musicrec.albums import Albums
from musicrec.api import models
from musicrec.api.deps import (
    JSON,
    Lib,
)
from musicrec.api.errors import add_error_handlers
from musicrec.api.openapi import DESCRIPTION, openapi_schema
from musicrec.api.routes import (
    albums,
    artists,
    audio,
    families,
    flows,
    prompt,
    recommendations,
    search,
    tracks,
)
from musicrec.errors import MusicrecError
from musicrec.library import LiveLibrary

log = logging.getLogger("musicrec.api")

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000/"

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "Missing or wrong bearer token."}}

_bearer = HTTPBearer(auto_error=False, description="The token the server was started with "
                     "(--token-file).")


async def _authorize(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Security(_bearer)]) -> None:
    """Require the configured bearer token (installed only when there is one)."""
    token: str = request.app.state.token
    if credentials is None:
        raise HTTPException(401, "No token provided", headers={"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(401, "Invalid access token", headers={"WWW-Authenticate": "Bearer"})


class HeadAsGet:
    """Answers HEAD for every GET route: the GET runs and its body is dropped (headers,
    Content-Length included, stay those of the GET, as HTTP asks)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def create_app(live: LiveLibrary, token: str | None = None, *,
               public_url: str = DEFAULT_PUBLIC_URL,
               cors_origins: Sequence[str] = (),
               subsonic_upstream: str | None = None) -> FastAPI:
    """The API over the library in one folder.

    Args:
        live: The library, opened once and shared by every request (it is read-only); a
            rebuild of its folder is picked up between requests.
        token: If given, every `/v1` request must carry `Authorization: Bearer <token>`, and
            so must `/openapi.json` (which then shows no catalogue ids); `/docs` is off, since
            a browser cannot send the token to it. Otherwise any or no token is accepted
            (Spotify clients always send one).
        public_url: The server's address as clients reach it; every href starts with it.
        cors_origins: Origins whose browser apps may call the API ("*" for any).
        subsonic_upstream: If given, `/rest/*` is a Subsonic proxy to this server
            (`musicrec.api.routes.subsonic`); its clients authenticate with the upstream,
            not with the bearer token.
    """
    app = FastAPI(title="musicrec", version=__version__, description=DESCRIPTION,
                  openapi_url=None, docs_url=None, redoc_url=None)
    try:
        # Open now, so that no request waits for it (a broken one answers 503); the albums and
        # their word index too (0.07 + 0.13 s at 200k songs; forked workers share them).
        lib = live.get()
        Albums.of(lib).text(lib.table)
    except MusicrecError as exc:
        log.error("%s", exc)
    app.state.live = live
    app.state.current = None
    app.state.checked_at = 0.0
    app.state.token = token
    app.state.base = public_url.rstrip("/") + "/"
    guard = [] if token is None else [Depends(_authorize)]
    for resource in (recommendations, tracks, artists, albums, search, families, audio, flows,
                     prompt):
        if token is None:
            app.include_router(resource.router)
        else:
            app.include_router(resource.router, dependencies=guard, responses=_UNAUTHORIZED)

    if subsonic_upstream:
        from musicrec.api.routes import subsonic

        app.state.subsonic = subsonic.Upstream(subsonic_upstream)
        app.include_router(subsonic.router)

    @app.get("/health", response_model=models.Health, summary="Liveness: status only",
             responses={503: {"model": models.Error, "description": "No usable library."}})
    async def health(lib: Lib) -> JSON:
        return JSON({"status": "ok"})

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    async def openapi_json() -> JSON:
        return JSON(openapi_schema(app))

    if token is None:
        from fastapi.openapi.docs import get_swagger_ui_html

        @app.get("/docs", include_in_schema=False)
        async def docs() -> Response:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="musicrec API")

    add_error_handlers(app)
    app.openapi = lambda: openapi_schema(app)  # type: ignore[method-assign]
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins),
                           allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.add_middleware(HeadAsGet)
    return app
