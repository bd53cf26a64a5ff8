"""`/rest/*`: a Subsonic proxy (`musicrec serve --subsonic-upstream URL`).

Any Subsonic client can point at musicrec instead of its server. The sonic methods
(`musicrec.integrations.subsonic_answers.SONIC_METHODS`) are answered from the library, in
the format the client asked for, once the client's credentials are accepted by the upstream
(its `ping`, with the client's own parameters; the verdict is kept `VERDICT_S` seconds). A
song the library does not know yet gets the upstream's own answer when that is a success,
else an empty list: never an error page. `getOpenSubsonicExtensions` (no authentication, as
the OpenSubsonic spec has it) lists the upstream's extensions plus `sonicSimilarity`.

Everything else (browsing, streaming, scrobbling, playlists) goes to the upstream unchanged:
method, query, body and headers in; status, headers and body out, streamed without
buffering, byte for byte (compressed bodies stay compressed).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any
from xml.etree import ElementTree

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from musicrec.errors import MusicrecError
from musicrec.integrations import subsonic_answers as answers
from musicrec.integrations.subsonic_client import WRONG_CREDENTIALS, extra

router = APIRouter(prefix="/rest", include_in_schema=False)

# The parameters that say who the client is; the upstream judges them.
AUTH_PARAMS = ("u", "p", "t", "s", "apiKey", "c", "v")
VERDICT_S = 60.0
# Headers that belong to one connection, not to the message (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                        "host"})
# Upstream answers of songs fetched at once to fill a sonic answer's entries.
CHILD_FETCHES = 8


class Upstream:
    """The Subsonic server behind the proxy: one HTTP client (made in the worker's event
    loop, at first use) and the verdicts on credentials."""

    def __init__(self, url: str):
        extra("httpx", "subsonic")
        self.url = url.rstrip("/")
        self._http: Any = None
        self._verdicts: dict[str, tuple[float, dict[str, Any] | None]] = {}

    @property
    def http(self) -> Any:
        if self._http is None:
            import httpx

            # No read timeout: a stream may pause as long as the upstream likes.
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))
        return self._http

    async def call(self, method: str, params: dict[str, str]) -> dict[str, Any] | None:
        """One JSON call with the client's own credentials: the `subsonic-response`, or
        None when the upstream cannot be reached or does not answer as Subsonic."""
        import httpx

        try:
            response = await self.http.get(f"{self.url}/rest/{method}",
                                           params={**params, "f": "json"})
            return response.json()["subsonic-response"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None

    async def refusal(self, params: dict[str, str]) -> dict[str, Any] | None:
        """None when the upstream accepts the client's credentials, else its error object."""
        who = {k: params[k] for k in AUTH_PARAMS if k in params}
        key = hashlib.sha256(repr(sorted(who.items())).encode()).hexdigest()
        now = time.monotonic()
        known = self._verdicts.get(key)
        if known is not None and known[0] > now:
            return known[1]
        body = await self.call("ping", who)
        if body is None:  # not kept: the next request asks again
            return {"code": 0, "message": f"the Subsonic server {self.url} cannot be reached"}
        verdict = None if body.get("status") == "ok" else (
            body.get("error") or {"code": WRONG_CREDENTIALS, "message": "refused"})
        if len(self._verdicts) > 1000:
            self._verdicts.clear()
        self._verdicts[key] = (now + VERDICT_S, verdict)
        return verdict

    async def children(self, ids: list[str], params: dict[str, str]
                       ) -> dict[str, dict[str, Any]]:
        """The upstream's `Child` of each song (`getSong`), those it answers."""
        who = {k: params[k] for k in AUTH_PARAMS if k in params}
        gate = asyncio.Semaphore(CHILD_FETCHES)

        async def one(song_id: str) -> dict[str, Any] | None:
            async with gate:
                body = await self.call("getSong", {**who, "id": song_id})
            return (body or {}).get("song") if (body or {}).get("status") == "ok" else None

        found = await asyncio.gather(*(one(i) for i in dict.fromkeys(ids)))
        return {i: c for i, c in zip(dict.fromkeys(ids), found, strict=True) if c}

    async def forward(self, request: Request, method: str) -> Response:
        """The request as the upstream answers it, streamed both ways."""
        import httpx

        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        # A body only when the client sent one: a GET streamed as chunks confuses servers.
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        outgoing = self.http.build_request(
            request.method, f"{self.url}/rest/{method}", params=request.url.query,
            headers=headers, content=request.stream() if has_body else None)
        try:
            upstream = await self.http.send(outgoing, stream=True)
        except httpx.HTTPError as exc:
            return _answer(answers.error(0, f"the Subsonic server {self.url} cannot be "
                                            f"reached: {type(exc).__name__}"),
                           dict(request.query_params), status=502)
        # The raw bytes are passed on, so Content-Length and Content-Encoding stay true.
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                 headers=kept, background=BackgroundTask(upstream.aclose))


def _answer(body: dict[str, Any], params: dict[str, str], status: int = 200) -> Response:
    content, media_type = answers.render(body, params.get("f"), params.get("callback"))
    return Response(content, status_code=status, media_type=media_type)


async def _params(request: Request) -> dict[str, str]:
    """The query's parameters and, for a form POST (OpenSubsonic's formPost), the form's."""
    params = dict(request.query_params)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        form = await request.form()
        params.update({k: str(v) for k, v in form.items()})
    return params


@router.api_route("/{method}", methods=["GET", "POST"])
async def rest(method: str, request: Request) -> Response:
    """One Subsonic call: a sonic method or the extensions answered here, the rest passed on."""
    name = method.removesuffix(".view")
    upstream: Upstream = request.app.state.subsonic
    if name == "getOpenSubsonicExtensions":
        params = await _params(request)
        body = await upstream.call(name, params) or {}
        listed = body.get("openSubsonicExtensions") or [] if body.get("status") == "ok" else []
        listed = [e for e in listed if e.get("name") != answers.EXTENSION["name"]]
        return _answer(answers.envelope(openSubsonicExtensions=[*listed, answers.EXTENSION]),
                       params)
    if name not in answers.SONIC_METHODS:
        return await upstream.forward(request, name)
    params = await _params(request)
    refused = await upstream.refusal(params)
    if refused is not None:
        return _answer(answers.envelope("failed", error=refused), params)
    return await _sonic(name, params, request, upstream)


async def _sonic(name: str, params: dict[str, str], request: Request,
                 upstream: Upstream) -> Response:
    """A sonic method from the library; a song it does not know: the upstream's answer."""
    ids = ([params.get("startSongId"), params.get("endSongId")] if name == "findSonicPath"
           else [params.get("id")])
    if not all(ids):
        wanted = "startSongId and endSongId" if name == "findSonicPath" else "id"
        return _answer(answers.error(answers.MISSING_PARAMETER,
                                     f"Required parameter is missing: {wanted}"), params)
    count = answers.count_of(name, params.get("count"))
    try:
        lib = request.app.state.live.get()
        if any(lib.row_of(i) is None for i in ids):
            return await _from_upstream(name, params, upstream)
        if name == "findSonicPath":
            matches = await run_in_threadpool(answers.path, lib, ids[0], ids[1], count)
        else:
            matches = await run_in_threadpool(answers.similar, lib, ids[0], count)
    except MusicrecError:  # no usable library, or no path through it: nothing to offer
        return _answer(answers.envelope(**answers.empty_payload(name)), params)
    children = await upstream.children([t["id"] for t, _ in matches], params)
    return _answer(answers.envelope(**answers.sonic_payload(name, matches, children)), params)


async def _from_upstream(name: str, params: dict[str, str], upstream: Upstream) -> Response:
    """The upstream's answer in the client's format when it is a success, else no songs."""
    import httpx

    try:
        response = await upstream.http.get(f"{upstream.url}/rest/{name}", params=params)
        if _succeeded(response.content):
            return Response(response.content, status_code=response.status_code,
                            media_type=response.headers.get("content-type"))
    except httpx.HTTPError:
        pass
    return _answer(answers.envelope(**answers.empty_payload(name)), params)


def _succeeded(content: bytes) -> bool:
    """Whether a Subsonic answer, JSON or XML, says `status="ok"`."""
    import orjson

    try:
        return orjson.loads(content)["subsonic-response"]["status"] == "ok"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    try:
        return ElementTree.fromstring(content).get("status") == "ok"
    except ElementTree.ParseError:
        return False
