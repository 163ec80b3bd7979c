"""Real protocol servers for tests (registered as pytest plugins by tests/conftest.py).

- ``tests.support.servers.dovecot``: ``DovecotServer``; fixtures ``dovecot``, ``clean_mailbox``.
- ``tests.support.servers.smtp``: ``SmtpServer``; fixtures ``smtp_server``, ``clean_smtp``.
"""
