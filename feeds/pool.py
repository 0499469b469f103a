"""Where a poll cycle reads bodies: in its own process, or in a pool of worker processes.

Parsing and classifying a first read of a feed costs about a millisecond an entry, all
of it CPU in one Python process. With more than one core the watcher hands bodies to
worker processes (`PoolReader`) while its own process fetches and stores; `InlineReader`
reads in the event loop's thread, for small cycles and tests.

Both hand back an awaitable from `submit`. The pool's `submit` waits while `backlog`
jobs are already handed over, and the watcher calls it while still holding its fetch
slot: so bodies waiting to be read never exceed the fetch concurrency plus the backlog,
however many feeds the cycle holds.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Awaitable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from feeds.reader import ReadJob, ReadResult, read_body

log = logging.getLogger(__name__)
#: The most workers "auto" starts: two keep a two-core machine busy next to the fetching
#: process; more cores leave room for the chat adapters and the database.
AUTO_MAX_WORKERS = 2


def auto_workers(cpus: int | None = None) -> int:
    """The workers "auto" means: up to two, none on a single core (a pool gains nothing)."""
    count = (os.cpu_count() or 1) if cpus is None else cpus
    return min(AUTO_MAX_WORKERS, count) if count >= 2 else 0


class Reader(Protocol):
    """Reads fetched bodies into entry writes."""

    async def submit(self, job: ReadJob) -> Awaitable[ReadResult]:
        """Start reading `job`; the awaitable gives its result (or raises what reading raised)."""
        ...

    def close(self) -> None:
        """Release what the reader holds (worker processes)."""
        ...


class InlineReader:
    """Reads in the calling thread, at once."""

    async def submit(self, job: ReadJob) -> Awaitable[ReadResult]:
        """Read `job` now; the returned future is already done."""
        future: asyncio.Future[ReadResult] = asyncio.get_running_loop().create_future()
        try:
            future.set_result(read_body(job))
        except Exception as error:  # handed to whoever awaits, as the pool does
            future.set_exception(error)
        return future

    def close(self) -> None:
        """Nothing to release."""


class PoolReader:
    """Reads in `workers` processes, with at most `backlog` jobs handed over at once.

    Workers are started by `spawn` (never `fork`: the parent has an event loop, sockets and
    a SQLite connection open), when the first job arrives. A worker that dies fails the
    jobs it held; later jobs go to a fresh pool.
    """

    def __init__(self, workers: int, backlog: int | None = None) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.workers = workers
        self._slots = asyncio.Semaphore(backlog or 2 * workers)
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    async def submit(self, job: ReadJob) -> Awaitable[ReadResult]:
        """Wait for a free slot, then hand `job` to a worker."""
        await self._slots.acquire()
        task = asyncio.ensure_future(self._run(job))
        task.add_done_callback(lambda _: self._slots.release())
        return task

    async def _run(self, job: ReadJob) -> ReadResult:
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, read_body, job)
        except BrokenProcessPool:
            if executor is self._executor:
                log.exception("a parse worker died; starting a new pool url=%s", job.url)
                self._executor = self._new_executor()
                executor.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        """Stop the workers once their jobs are done."""
        self._executor.shutdown(wait=True, cancel_futures=True)
