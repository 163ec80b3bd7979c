"""Microsoft Graph mail (Outlook.com, Microsoft 365, Exchange Online).

* :mod:`.auth`: msal sign-in (device code, interactive, silent, client credentials),
  token cache in the keyring; :class:`TokenProvider`.
* :mod:`.service`: :class:`GraphMailService`, the async channel service.
* :mod:`.factory`: ``factory(context, account_name, config)`` for the registry.
* Pure protocol logic: :mod:`.mapping`, :mod:`.delta`, :mod:`.outgoing`, :mod:`.errors`,
  :mod:`.retry`; I/O: :mod:`.client`, :mod:`.sync`, :mod:`.send`.

Importing this package does not import msal (only :mod:`.auth` does).
"""

from __future__ import annotations

__all__: list[str] = []
