"""exitplan's HTTP server: /healthz, /metrics, the Atom feed, the status page, Slack's HTTP mode.

`HttpServer` runs an aiohttp application on its own event loop in its own thread, so
the synchronous runner keeps the main thread. Routes are added before `start()`: the
Slack adapter adds `/slack/events` in HTTP mode, `serve_exitplan` adds the rest and
starts the server. Each request reads the database through its own short-lived
connection in a worker thread (`asyncio.to_thread`), so a slow query never blocks the
loop and no connection crosses threads.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from aiohttp import web

from bot.atom import CONTENT_TYPE as ATOM_TYPE
from bot.atom import FeedQuery, build_feed
from bot.heartbeat import Heartbeat
from bot.metrics import CONTENT_TYPE as METRICS_TYPE
from bot.metrics import Metrics
from bot.runner import Clock, poll_tick_seconds, utc_now
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.status_page import gather_page, render_page
from feeds.model import KINDS
from storage import StorageError, open_db
from storage.db import check_writable
from storage.events import list_events

log = logging.getLogger(__name__)

_T = TypeVar("_T")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The liveness probe fails when no scheduler job finished for this many poll ticks.
STALE_TICKS = 3
#: Entries in the Atom feed.
FEED_LIMIT = 50
#: Largest request body accepted (Slack's requests are a few kilobytes).
MAX_BODY = 1_000_000
#: How long the readiness probe waits for another writer's lock, in milliseconds.
_READY_BUSY_MS = 2000
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class HttpServerError(RuntimeError):
    """The HTTP server cannot listen; the message names the setting to change."""


class HttpServer:
    """An aiohttp application served from a thread with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self.app = web.Application(client_max_size=MAX_BODY)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._bound: int | None = None

    @property
    def port(self) -> int | None:
        """The port the server listens on once started (the real one when 0 was asked)."""
        return self._bound

    @property
    def url(self) -> str:
        """The server's base URL, e.g. http://127.0.0.1:8080 (after start)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._bound}"

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve `handler` for `method` on `path`; only before `start()`."""
        if self._thread is not None:
            raise RuntimeError("add routes before the HTTP server starts")
        self.app.router.add_route(method, path, handler)

    def start(self) -> None:
        """Listen and serve in a new thread; return once the socket is bound."""
        if self._thread is not None:
            raise RuntimeError("the HTTP server is already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[OSError] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except OSError as error:
                failure.append(error)
            ready.set()
            if not failure:
                loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name="exitplan-http", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            error = failure[0]
            hint = " (another process uses it)" if error.errno == errno.EADDRINUSE else ""
            raise HttpServerError(
                f"cannot listen on {self.host}:{self._port}{hint}: {error.strerror or error}; "
                "change EXITPLAN_HTTP_PORT or EXITPLAN_HTTP_HOST"
            ) from error
        log.info("http listening url=%s", self.url)

    async def _open(self) -> None:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self._port)
        await site.start()
        self._bound = int(runner.addresses[0][1])

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop serving and wait for the thread; safe to call twice or before start."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        log.info("http stopped")


def _json(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, indent=2), content_type="application/json"
    )


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


def database_problem(settings: Settings) -> str | None:
    """Why the database cannot take a write now, or None when it can."""
    try:
        db = open_db(settings.db_path)
    except StorageError as error:
        return str(error)
    try:
        db.execute(f"PRAGMA busy_timeout = {_READY_BUSY_MS}")
        check_writable(db)
    except StorageError as error:
        return str(error)
    finally:
        db.close()
    return None


class _Endpoints:
    """The request handlers of exitplan's own routes."""

    def __init__(
        self, settings: Settings, heartbeat: Heartbeat, metrics: Metrics, clock: Clock
    ) -> None:
        self.settings = settings
        self.heartbeat = heartbeat
        self.metrics = metrics
        self.clock = clock
        self.max_age = timedelta(seconds=STALE_TICKS * poll_tick_seconds(settings))

    def _with_runtime(self, work: Callable[[Runtime, datetime], _T]) -> _T:
        now = self.clock()
        rt = open_runtime(self.settings, now, sync=False)
        try:
            return work(rt, now)
        finally:
            rt.close()

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness (a scheduler job finished lately) and readiness (the database is writable)."""
        probe = request.query.get("probe", "")
        if probe not in ("", "live", "ready"):
            return _text(400, "probe must be live or ready (or absent for both)\n")
        checks: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        now = self.clock()
        if probe in ("", "live"):
            age = self.heartbeat.age(now)
            alive = age <= self.max_age
            last = self.heartbeat.last
            checks["scheduler"] = {
                "ok": alive,
                "last_job_at": last.isoformat() if last else None,
                "seconds_since": round(age.total_seconds(), 1),
                "stale_after_seconds": self.max_age.total_seconds(),
            }
            if not alive:
                problems.append(
                    f"no scheduler job finished for {age.total_seconds():.0f}s "
                    f"(stale after {self.max_age.total_seconds():.0f}s)"
                )
        if probe in ("", "ready"):
            problem = await asyncio.to_thread(database_problem, self.settings)
            checks["database"] = {"ok": problem is None, "error": problem}
            if problem is not None:
                problems.append(problem)
        body = {"status": "fail" if problems else "ok", "checks": checks, "problems": problems}
        return _json(503 if problems else 200, body)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Every metric in Prometheus' text format."""

        def render() -> bytes:
            db = open_db(self.settings.db_path)
            try:
                return self.metrics.render(db, self.clock())
            finally:
                db.close()

        try:
            body = await asyncio.to_thread(render)
        except StorageError as error:
            return _text(503, f"{error}\n")
        return web.Response(body=body, headers={"Content-Type": METRICS_TYPE})

    async def atom(self, request: web.Request) -> web.Response:
        """The Atom feed of classified events, filtered by ?provider= and ?kind=."""
        provider = request.query.get("provider", "").strip()
        kind = request.query.get("kind", "").strip()
        if kind and kind not in KINDS:
            return _text(404, f"Unknown kind {kind!r}; kinds: {', '.join(KINDS)}\n")
        self_url = str(request.url)
        site_url = str(request.url.with_path("/").with_query(None))

        def build(rt: Runtime, now: datetime) -> web.Response:
            query = FeedQuery(kind=kind or None)
            if provider:
                found = rt.catalog.resolve(provider)
                if found is None:
                    suggestions = rt.catalog.suggest(provider)
                    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
                    return _text(404, f"Unknown provider {provider!r}.{hint}\n")
                query = FeedQuery(found.slug, found.name, kind or None)
            events = list_events(
                rt.db,
                provider=query.provider,
                kinds=(kind,) if kind else (),
                limit=FEED_LIMIT,
            )
            names = {p.slug: p.name for p in rt.catalog}
            body = build_feed(
                events, query, self_url=self_url, site_url=site_url, now=now, provider_name=names
            )
            return web.Response(body=body, headers={"Content-Type": ATOM_TYPE})

        try:
            return await asyncio.to_thread(self._with_runtime, build)
        except StorageError as error:
            return _text(503, f"{error}\n")

    async def status_page(self, request: web.Request) -> web.Response:
        """The status page, as HTML."""

        def build(rt: Runtime, now: datetime) -> str:
            return render_page(gather_page(rt, now))

        try:
            page = await asyncio.to_thread(self._with_runtime, build)
        except StorageError as error:
            return _text(503, f"{error}\n")
        return web.Response(text=page, content_type="text/html", headers=_PAGE_HEADERS)


def serve_exitplan(
    server: HttpServer,
    settings: Settings,
    *,
    heartbeat: Heartbeat,
    metrics: Metrics,
    clock: Clock = utc_now,
) -> None:
    """Add exitplan's routes (/, /healthz, /metrics, /feeds/events.atom) and start serving.

    Raises HttpServerError when the address cannot be bound.
    """
    endpoints = _Endpoints(settings, heartbeat, metrics, clock)
    server.add_route("GET", "/", endpoints.status_page)
    server.add_route("GET", "/healthz", endpoints.healthz)
    server.add_route("GET", "/metrics", endpoints.metrics_page)
    server.add_route("GET", "/feeds/events.atom", endpoints.atom)
    server.start()
