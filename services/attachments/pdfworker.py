"""A worker process for PDFs: hostile input never hangs or crashes the app.

One long-lived child process (``spawn``: a clean interpreter, safe from a threaded or
Qt parent) serves jobs over a pipe, one at a time.  The child limits its own address
space (``RLIMIT_AS``); the parent waits at most ``timeout`` seconds for an answer and
otherwise kills the child (a fresh one starts on the next job).  A crash of the child
(a segfault in a C library, running out of memory) is an answer too: a status, not an
exception in the app.  Waiting happens on the calling thread, so from asyncio run
jobs through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from services.errors import OperationTimedOut

__all__ = ["PdfWorker"]

_GRACE = 1.0  # seconds past the job's own soft limit before the child is killed


def _serve(conn: Connection, memory_limit: int) -> None:  # runs in the child
    try:
        import resource

        if memory_limit > 0:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):  # not on this OS: the time limit still holds
        pass
    import logging

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # hostile PDFs warn a lot
    from services.attachments.pdfjobs import run_job

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        op, data, params = job
        try:
            reply: dict[str, Any] = run_job(op, data, params)
        except MemoryError:
            reply = {"status": "too_large", "detail": "the PDF needs too much memory"}
        except Exception as exc:  # any other library failure is bad input, not a crash
            reply = {"status": "corrupt", "detail": f"{type(exc).__name__}: {exc}",
                     "trace": traceback.format_exc(limit=3)}
        conn.send(reply)


class PdfWorker:
    """Runs PDF jobs in a child process with a time and memory limit."""

    def __init__(self, *, timeout: float = 20.0, memory_limit: int = 2 << 30) -> None:
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._ctx = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    def _start(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            return self._conn
        self._stop()
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child, self.memory_limit),
                                 name="commhub-pdf-worker", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        return parent

    def _stop(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join(5)

    def run(self, op: str, data: bytes, timeout: float | None = None,
            **params: Any) -> dict[str, Any]:
        """The job's result dict (always with ``status``); :class:`OperationTimedOut`
        when the child did not answer in time (it is killed)."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            conn = self._start()
            try:
                conn.send((op, data, params))
                answered = conn.poll(limit + _GRACE)
                if answered:
                    reply: dict[str, Any] = conn.recv()
                    return reply
            except (EOFError, OSError) as exc:
                code = self._proc.exitcode if self._proc is not None else None
                self._stop()
                self.restarts += 1
                return {"status": "corrupt",
                        "detail": f"the PDF worker died on this file ({exc or code})"}
            self._stop()
            self.restarts += 1
        raise OperationTimedOut(f"PDF {op} took longer than {limit:g} s; stopped")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(OSError, BrokenPipeError):
                    self._conn.send(None)
            self._stop()

    def __enter__(self) -> PdfWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
