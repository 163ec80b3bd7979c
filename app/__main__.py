"""``python -m app``: the desktop app (or a CLI subcommand when one is given)."""

from app.cli import main

raise SystemExit(main())
