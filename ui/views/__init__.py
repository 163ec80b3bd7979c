"""Windows, panes and dialogs."""
