"""Test-support package: real servers on loopback, TLS helpers and a mail corpus generator.

Import as ``tests.support...`` (tests/conftest.py puts the repository root on ``sys.path``;
benchmarks run with ``python -m tests.perf...`` from the root, so the same imports work there).
"""
