"""Where Debian's Chromium is, for the browser tests: Playwright drives it and never downloads one.

Run as a script (``make test`` does), it prints the one line that says the browser tests will be
skipped, or nothing when they will run.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["ENV", "find_chromium", "skip_reason"]

ENV = "COSTTREND_NB_CHROMIUM"  # an explicit executable; else chromium or chromium-browser on PATH
NAMES = ("chromium", "chromium-browser")


def find_chromium() -> str | None:
    """The Chromium executable: ``$COSTTREND_NB_CHROMIUM`` when set, else the first on PATH.

    >>> found = find_chromium()
    >>> found is None or os.access(found, os.X_OK)
    True
    """
    explicit = os.environ.get(ENV)
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    return next(filter(None, (shutil.which(name) for name in NAMES)), None)


def skip_reason() -> str:
    """Why the browser tests are skipped: a missing Chromium, and how to get one.

    >>> skip_reason().startswith("browser tests skipped:")
    True
    """
    explicit = os.environ.get(ENV)
    if explicit:
        return f"browser tests skipped: {ENV}={explicit} is not an executable file"
    return "browser tests skipped: Debian chromium not found (apt-get install chromium)"


if __name__ == "__main__":
    if find_chromium() is None:
        print(skip_reason())
