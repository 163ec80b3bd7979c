"""One implementation, two faces: the async core and the spec's blocking API.

:class:`BackgroundLoop` runs an asyncio loop on a private daemon thread; the
blocking face (``message.send()``, ``gmail.search(q)``) submits the async
implementation to it and waits.  The GUI never uses this: it awaits the async
methods on its own (qasync) loop.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # asyncio is imported when a loop is first needed (lean CLI start-up)
    import asyncio

T = TypeVar("T")

__all__ = ["BackgroundLoop"]


class BackgroundLoop:
    """A private event loop thread, started lazily, stopped by :meth:`close`."""

    def __init__(self, name: str = "commhub-core") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                import asyncio

                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float | None = None) -> T:
        """Run ``coro`` on the background loop and wait for its result.

        Calling this from the background loop's own thread would deadlock, so it is
        refused with a clear error.
        """
        import asyncio

        loop = self.loop
        if threading.current_thread() is self._thread:
            raise RuntimeError("BackgroundLoop.run() called from its own loop: await instead")

        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), loop).result(timeout)

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        import asyncio

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
