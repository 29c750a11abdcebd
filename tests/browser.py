"""Chromium flags of every browser test: no sandbox (root in CI), and nothing that would
try to reach the closed network (updates, sync, background fetches)."""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
