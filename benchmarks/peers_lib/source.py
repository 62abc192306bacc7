"""Which code a benchmark measured: the git commit of a source tree."""
from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(path: Path) -> dict:
    """{"sha": HEAD's sha or None, "dirty": whether tracked files differ from it}."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True,
                              text=True).stdout.strip()
    return {"sha": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
