"""View-models: pure Python state behind each pane, no Qt."""
