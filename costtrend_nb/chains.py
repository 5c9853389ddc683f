"""The bookkeeping of one fetch's request chains, shared by the sync and async clients.

A fetch drives many paged chains (:func:`~costtrend_nb.protocol.paged_flow`) breadth first:
:class:`Chains` keeps the steps ready to run, the results and the errors, so that every chain
ends in exactly one of them and a worker's failure is never a chain silently lost. Nothing here
does I/O or holds a lock; the clients do both.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import CostTrendError
from .protocol import Flow, is_fatal
from .tidy import Page

__all__ = ["Chains", "Step", "progress_bar", "unexpected_error"]

log = logging.getLogger("costtrend_nb")

PROGRESS_ENV = "COSTTREND_NB_PROGRESS"
_PROGRESS_DELAY = 2.0  # seconds before a progress bar appears


def progress_bar(total: int, enabled: bool | None) -> Any:
    """A tqdm bar over ``total`` chains, shown after two seconds (None: unless
    ``COSTTREND_NB_PROGRESS=0``); a stand-in that does nothing when off or for one chain."""
    if enabled is None:
        enabled = os.environ.get(PROGRESS_ENV, "1") not in ("0", "false", "False")
    if not enabled or total < 2:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=total, delay=_PROGRESS_DELAY, desc="fetching series", unit="chain")


@dataclass
class Step:
    """The next action of one chain."""

    index: int
    flow: Flow
    action: Any


def unexpected_error(err: BaseException, where: str) -> CostTrendError:
    """Our error for an exception of another kind met while ``where`` (a bug, a closed client,
    a failing credential provider): it names the cause, and chains nothing, so that no frame
    of the failing code (and none of its locals) travels with it."""
    log.debug("%s while %s", type(err).__name__, where, exc_info=err)
    return CostTrendError(f"{type(err).__name__} while {where}: {err}")


class Chains:
    """The bookkeeping of a breadth-first run over request chains: ready steps, results,
    errors. Not thread-safe: the caller holds its lock around every call but :meth:`parse`.

    ``parse(index, pages)`` turns a finished chain's pages into its result. Every chain ends
    in exactly one of :attr:`results` and :attr:`errors`, or the run has a :attr:`fatal` error.
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        labels: Sequence[str],
        parse: Callable[[int, list[Page]], Any],
    ):
        self.labels, self._parse = list(labels), parse
        self.ready: collections.deque[Step] = collections.deque()
        self.active = 0
        self.results: dict[int, Any] = {}
        self.errors: dict[int, CostTrendError] = {}
        self.fatal: BaseException | None = None
        self.finished: dict[int, list[Page]] = {}
        for i, flow in enumerate(flows):
            self._advance(i, flow, flow.__next__)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self) -> Step:
        self.active += 1
        return self.ready.popleft()

    def settle(self, step: Step, outcome: Any) -> list[Page] | None:
        """Feed a chain what came of its action; its pages when it has just ended."""
        self.active -= 1
        if step.index in self.errors:  # abandoned meanwhile (deadline, interrupt)
            step.flow.close()
            return None
        self._advance(step.index, step.flow, lambda: step.flow.send(outcome))
        return self.finished.pop(step.index, None)

    def parse(self, index: int, pages: list[Page]) -> Any:
        """Decode a finished chain (outside the lock: other chains wait on the network)."""
        try:
            return self._parse(index, pages)
        except Exception as err:
            return _Failed(err)

    def store(self, index: int, parsed: Any) -> None:
        if index in self.errors:
            return
        if isinstance(parsed, _Failed):
            self._fail(index, parsed.error)
        else:
            self.results[index] = parsed

    def crash(self, err: BaseException) -> None:
        """A worker met an error outside any chain (a bug): stop the run and surface it."""
        if self.fatal is None:
            self.fatal = (
                err if isinstance(err, CostTrendError) else unexpected_error(err, "fetching")
            )

    def abandon(self, reason: Callable[[str], CostTrendError]) -> None:
        """End every chain still going with the error ``reason(label)`` (deadline, interrupt)."""
        for step in self.ready:
            step.flow.close()
        self.ready.clear()
        for i, label in enumerate(self.labels):
            if i not in self.results and i not in self.errors:
                self.errors[i] = reason(label)

    def outcome(self) -> tuple[dict[int, Any], dict[int, CostTrendError]]:
        """The results and errors by chain (copies: a straggling worker cannot change them).

        Raises:
            CostTrendError: the run had a fatal error (the service refused the account).
        """
        if self.fatal is not None:
            for step in self.ready:
                step.flow.close()
            raise self.fatal
        for i, label in enumerate(self.labels):  # never fewer rows without saying so
            if i not in self.results and i not in self.errors:
                self.errors[i] = CostTrendError(f"{label} ended without an answer (a bug)")
        return dict(self.results), dict(self.errors)

    def _fail(self, index: int, err: BaseException) -> None:
        if not isinstance(err, CostTrendError):
            err = unexpected_error(err, f"fetching {self.labels[index]}")
        if is_fatal(err):  # refused by the service: no other chain would fare better
            self.fatal = err
        else:
            self.errors[index] = err

    def _advance(self, index: int, flow: Flow, move: Callable[[], Any]) -> None:
        try:
            action = move()
        except StopIteration as stop:
            self.finished[index] = stop.value
            return
        except Exception as err:
            self._fail(index, err)
            return
        self.ready.append(Step(index, flow, action))


@dataclass
class _Failed:
    """A chain whose pages could not be decoded."""

    error: BaseException


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
