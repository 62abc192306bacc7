"""What a user sees while a YarnCluster waits for its workers.

Four counts, from YARN's view to Dask's: requested (containers asked for and not yet
finished), allocated (granted, process not started), running (process started) and
connected (workers the scheduler knows). Shown as a widget in a notebook, a line
rewritten in place in a terminal, and log records otherwise.
"""
from __future__ import annotations

import html
import logging
import sys
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counts:
    requested: int
    allocated: int
    running: int
    connected: int
    #: Why YARN keeps requests waiting (knit.waiting), when they wait.
    waiting: str | None = None

    def text(self, wanted: int) -> str:
        line = (f"workers: {self.connected}/{wanted} connected | requested {self.requested}, "
                f"allocated {self.allocated}, running {self.running}")
        return line + (f" | YARN: {self.waiting}" if self.waiting else "")

    def html(self, wanted: int | None = None) -> str:
        cells = [("Requested", self.requested), ("Allocated", self.allocated),
                 ("Running", self.running), ("Connected", self.connected)]
        head = "".join(f"<th>{name}</th>" for name, _ in cells)
        row = "".join(f"<td>{value}</td>" for _, value in cells)
        goal = "" if wanted is None else f" (waiting for {wanted})"
        why = f"<p>YARN: {html.escape(self.waiting)}</p>" if self.waiting else ""
        return (f"<div><b>YARN containers and Dask workers</b>{html.escape(goal)}"
                f"<table><tr>{head}</tr><tr>{row}</tr></table>{why}</div>")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Progress:
    """A progress display for `wanted` workers; `update` with new counts, then `close`."""

    def __init__(self, wanted: int, enabled: bool = True) -> None:
        self.wanted = wanted
        self._last: Counts | None = None
        self._widget = None
        self._terminal = False
        if not enabled:
            self._mode = "off"
        elif _in_notebook():
            import ipywidgets
            from IPython.display import display
            self._widget = ipywidgets.HTML()
            display(self._widget)
            self._mode = "widget"
        elif sys.stderr.isatty():
            self._mode = "terminal"
        else:
            self._mode = "log"

    def update(self, counts: Counts) -> None:
        if counts == self._last:
            return
        self._last = counts
        if self._mode == "widget":
            self._widget.value = counts.html(self.wanted)
        elif self._mode == "terminal":
            sys.stderr.write("\r\x1b[K" + counts.text(self.wanted))
            sys.stderr.flush()
        elif self._mode == "log":
            logger.info(counts.text(self.wanted))

    def close(self) -> None:
        if self._mode == "terminal" and self._last is not None:
            sys.stderr.write("\n")
            sys.stderr.flush()
