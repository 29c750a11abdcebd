"""Where the command line's log goes: `<data dir>/logs/imagora.log`, not the terminal.

Libraries warn about what they meet in files (pydicom: "value length exceeds the maximum
for VR LT", "excess padding"); a researcher running `imagora harvest` should see the
report, not hundreds of library lines. `log_to_file` routes Python warnings and every
logger's records to one file in the data dir; the report still names each bad file.
It keeps a handle on what it changed so `restore` puts the process back as it was
(tests run many commands in one process).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class LogRouting:
    handler: logging.Handler
    level: int
    captured: bool

    def restore(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)
        self.handler.close()
        logging.captureWarnings(self.captured)


def log_to_file(data_dir: Path) -> LogRouting | None:
    """Send warnings and log records to `<data_dir>/logs/imagora.log`; None when the
    folder cannot be made (then logging stays as it was)."""
    folder = data_dir / "logs"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "imagora.log", encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    routing = LogRouting(handler, root.level, _capturing())
    root.addHandler(handler)  # with a handler, logging's stderr "last resort" stays quiet
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return routing


def _capturing() -> bool:
    return bool(getattr(logging, "_warnings_showwarning", None))
