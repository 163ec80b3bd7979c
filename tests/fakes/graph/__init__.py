"""A local Microsoft Graph mail + Microsoft identity platform fake for the tests.

Modules:

* :mod:`.server` -- :class:`FakeGraph`: the server, its state, test helpers and dispatch.
* :mod:`.signin` -- :class:`SignInMixin`: the login.microsoftonline.com endpoints (msal).
* :mod:`.mailbox` -- :class:`MailboxMixin`: Graph routing, mail folders, message JSON and
  lists, ``messages/delta``.
* :mod:`.changes` -- :class:`ChangesMixin`: PATCH / move / DELETE, sendMail, drafts,
  attachments and upload sessions.
* :mod:`.query` -- ``$filter`` (:class:`ODataFilter`), ``$search`` (:class:`KqlSearch`),
  ``$select``.
* :mod:`.model` -- the data classes (folders, messages, sent mail, faults ...) and
  :func:`build_mime`.
* :mod:`.wire` -- HTTP plumbing: constants, :class:`RewritingSession`, :class:`HttpError`,
  :class:`Reply` and the JSON reply helpers, the ``http.server`` request handler.
"""

from .model import SentMail, build_mime
from .server import FakeGraph
from .wire import LOGIN_HOST, RewritingSession

__all__ = ["LOGIN_HOST", "FakeGraph", "RewritingSession", "SentMail", "build_mime"]
