"""FOCUS export: tidy frames as FOCUS 1.0 rows, and a partitioned dataset any engine reads.

``to_focus`` turns a tidy frame into FOCUS rows (:mod:`.rows`, columns in :mod:`.columns`);
``write_period`` adds one billing month to a dataset folder (``billing_period=YYYY-MM/``), each
partition replaced atomically and recorded in ``_manifest.json`` (:mod:`.dataset`).
docs/focus.md maps every column and says what FOCUS 1.2 changes.

Example:
    >>> from costtrend_nb import CostTrendClient
    >>> df = CostTrendClient.demo().fetch("2026-11-18", "2026-11-19", model_types=["TTS"])
    >>> round(float(to_focus(df)["BilledCost"].sum()), 2)
    180.66
"""

from .columns import EXTRA_COLUMNS, FOCUS_1_2, FOCUS_COLUMNS, FOCUS_VERSION
from .dataset import (
    MANIFEST,
    billing_periods,
    open_dataset,
    partition_path,
    read_partition,
    write_manifest,
    write_period,
)
from .rows import billing_month_start, empty_focus, to_focus

__all__ = [
    "EXTRA_COLUMNS",
    "FOCUS_1_2",
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "MANIFEST",
    "billing_month_start",
    "billing_periods",
    "empty_focus",
    "open_dataset",
    "partition_path",
    "read_partition",
    "to_focus",
    "write_manifest",
    "write_period",
]
