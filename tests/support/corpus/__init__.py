"""A seeded, deterministic generator of realistic e-mail, for tests and benchmarks.

    from tests.support.corpus import generate_messages, write_maildir

Modules (the full description of the corpus is in :mod:`.generator`'s docstring):

* ``data``: fixed dates and owner, ``MARKER_WORDS``, ``CHARSETS``, word/subject/name lists,
  :class:`Person` and the ``PEOPLE`` pool;
* ``model``: :class:`GeneratedMessage` and :class:`Attachment` (what the generator yields);
* ``mime``: RFC 2047 headers, dates, addresses, body encodings, MIME parts and multiparts;
* ``files``: minimal valid PDF, PNG and DOCX attachment bytes;
* ``text`` / ``attachments``: mixins of ``_Generator`` (body text, subjects, charsets and
  encodings / attachments, the shared large blob and boundaries);
* ``generator``: ``_Generator`` (thread plan, one message at a time) and
  :func:`generate_messages`;
* ``writers``: :func:`write_maildir`, :func:`write_mbox`, :func:`write_eml_dir`.
"""

from __future__ import annotations

from tests.support.corpus.data import (
    CHARSETS,
    END,
    MARKER_WORDS,
    OWNER_ADDRESS,
    OWNER_NAME,
    PEOPLE,
    SPAN_DAYS,
    START,
    Person,
)
from tests.support.corpus.generator import generate_messages
from tests.support.corpus.model import Attachment, GeneratedMessage
from tests.support.corpus.writers import (
    FolderChoice,
    WriteStats,
    write_eml_dir,
    write_maildir,
    write_mbox,
)

__all__ = [
    "CHARSETS",
    "END",
    "MARKER_WORDS",
    "OWNER_ADDRESS",
    "OWNER_NAME",
    "PEOPLE",
    "SPAN_DAYS",
    "START",
    "Attachment",
    "FolderChoice",
    "GeneratedMessage",
    "Person",
    "WriteStats",
    "generate_messages",
    "write_eml_dir",
    "write_maildir",
    "write_mbox",
]
