"""A local HTTP fake of the Gmail REST API (v1), spoken to by the real googleapiclient.

Modules: :mod:`.server` (:class:`GmailFake`, its routes, batch and test helpers; the full
description is its docstring), :mod:`.query` (the ``q`` search parser, :func:`compile_q`),
:mod:`.message` (:class:`FakeMessage` and its wire formats), :mod:`.wire` (HTTP plumbing:
:class:`ApiError`, :class:`Fault`, ``Response``) and :mod:`.fixtures` (``gmail_fake``).
"""

from tests.fakes.gmail.fixtures import gmail_fake
from tests.fakes.gmail.query import compile_q
from tests.fakes.gmail.server import GmailFake
from tests.fakes.gmail.wire import Fault

__all__ = ["Fault", "GmailFake", "compile_q", "gmail_fake"]
