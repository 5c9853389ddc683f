"""The ``costtrend-nb`` command's entry point: process-wide settings, then :func:`cli.main`.

One BLAS thread unless the environment says otherwise: the command's matrices are tiny (a
forecast's state-space fits), and OpenBLAS's idle threads spin on the cores that a report's
kernels need (``costtrend-nb summary --demo`` took 4.7 s of CPU instead of 2.8). It has to be
set before numpy loads, so here rather than in :mod:`costtrend_nb.cli`, which imports pandas.
"""

from __future__ import annotations

import os

__all__ = ["BLAS_THREADS", "main"]

BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main() -> int:
    """Run ``costtrend-nb`` with one BLAS thread (unless set) and return its exit status."""
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    from .cli import main as run

    return run()
