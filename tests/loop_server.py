"""An aiohttp application served on 127.0.0.1 from a thread with its own event loop.

The Slack and Discord stand-ins build on it: a subclass gives its routes in
`build_app`, closes its websockets in `on_stop`, and runs coroutines on the server's
loop with `run`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")

#: Seconds to wait for the server's loop to start, stop or answer a call.
WAIT = 10.0


class LoopServer:
    """Start with `start()` (or `with`), stop with `close()`; `port` is known once started."""

    name = "test-server"

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.name)
        self._thread.daemon = True
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        """The application to serve; subclasses add their routes."""
        raise NotImplementedError

    async def on_stop(self) -> None:
        """Close what the subclass keeps open (websockets) before the server stops."""

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = WAIT) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self) -> Self:
        """Serve on 127.0.0.1 (port 0) and return once the port is bound."""
        self._thread.start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    def close(self) -> None:
        """Close every socket, stop serving and end the thread."""
        if self._thread.is_alive():
            self.run(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT)
        if not self._loop.is_closed():
            self._loop.close()

    async def _stop(self) -> None:
        await self.on_stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
