"""What the ``knit`` commands share: the ``--hadoop-conf-dir`` option, and how errors a
user can cause end a command (one line on stderr, an exit code per kind)."""
from __future__ import annotations

import logging
import sys
import traceback

import click

from .exceptions import (ApplicationStateError, InvalidArgumentError, KerberosError,
                         KnitException, KnitTimeoutError, MissingFileError,
                         PermissionDeniedError)
from .validation import memory_mb

#: Exit codes of the knit command (docs/cli.md); the first matching class wins.
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (ApplicationStateError, 3),   # no such running application (ended, or another user's)
    (KnitTimeoutError, 4),
    (KerberosError, 5),
    (PermissionDeniedError, 5),
    (InvalidArgumentError, 2),    # as click's own usage errors
    (MissingFileError, 2),
    (KnitException, 1),
]


def exit_code(error: BaseException) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))


class KnitGroup(click.Group):
    """A command group whose commands end on a KnitException with ``knit: error: ...``
    on stderr and the exit code of its kind; ``knit -v`` shows the traceback too."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KnitException as e:
            if logging.getLogger().isEnabledFor(logging.INFO):
                traceback.print_exc()
            click.echo("knit: error: " + " ".join(str(e).split()), err=True)
            sys.exit(exit_code(e))
        except KeyboardInterrupt:
            click.echo("knit: interrupted", err=True)
            sys.exit(130)


def login() -> dict:
    """The login options of the whole command line (``knit --proxy-user USER ...``), as
    ``ClusterClient`` and ``YarnCluster`` take them."""
    ctx = click.get_current_context(silent=True)
    return {"proxy_user": ctx.find_root().params.get("proxy_user")} if ctx else {}


def conf_option(command):
    """``--hadoop-conf-dir``, as for ``Knit()``."""
    return click.option(
        "--hadoop-conf-dir", type=click.Path(file_okay=False),
        help="The cluster's Hadoop configuration (default: $HADOOP_CONF_DIR, "
             "$YARN_CONF_DIR, /etc/hadoop/conf).")(command)


class Memory(click.ParamType):
    """A container's memory, in the forms the Python API takes (knit.validation.memory_mb):
    MB (``2048``) or a size (``"2 GiB"``, ``2GB``); the value is MB."""

    name = "size"

    def convert(self, value, param, ctx) -> int:
        what = f"--{param.name.replace('_', '-')}" if param else "memory"
        try:
            return memory_mb(value if isinstance(value, int) else str(value), what)
        except InvalidArgumentError as e:
            # click says "Invalid value for '--memory': " already.
            self.fail(str(e).removeprefix(f"{what}: "), param, ctx)


MEMORY = Memory()


def app_argument(command):
    return click.argument("app_id", metavar="APP")(command)


def elapsed(ms: int) -> str:
    """1h02m, 3m05s, 12s."""
    s = max(int(ms // 1000), 0)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def table(rows: list[list[str]], header: list[str]) -> str:
    """Columns aligned on the widest cell."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)
