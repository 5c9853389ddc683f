"""Warnings that name the user's line, however deep in the package they are raised.

A fixed ``stacklevel`` names the right line for one path only: the same warning reached through
``client.fetch``, a plot or a report helper would name a line of this package instead.
(Python 3.12's ``skip_file_prefixes`` does this; 3.11 is supported.)
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside ``costtrend_nb``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     warn("careful")
        >>> seen[0].filename.endswith("_warn.py")  # named: the doctest, not this package
        False
    """
    frame = sys._getframe(0)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, category, stacklevel=level)
