"""Smoke test of benchmarks/peers.py: ``--quick`` (knit only, N = 1, one run) end to end.

Runs the script as a user would, in a subprocess with this Python (the knit venv's), and
checks the JSON it wrote. Needs Java and knit's JVM build, like the cluster tests; about a
minute.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers import require_java

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "peers.py"


@pytest.mark.timeout(300)
def test_peers_quick(tmp_path: Path) -> None:
    require_java()
    out = tmp_path / "peers_quick.json"
    # cwd outside the repository, so `import knit` is the installed knit, as for a user.
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["quick"] is True
    runs = results["modes"]["async"]["A"]
    knit_n1 = [r for r in runs if r["tool"] == "knit" and r["n"] == 1]
    assert knit_n1 and "error" not in knit_n1[0], knit_n1
    assert knit_n1[0]["seconds"] > 0
    assert results["summary"]["modes"]["async"]["A"]["knit"]["1"]["median"] > 0
    assert results["modes"]["async"]["leftovers"] == []
    # C stops at the first answered ResourceManager call, after the client's own "ready".
    (c,) = [r for r in results["C"] if r["tool"] == "knit"]
    assert "error" not in c, c
    assert 0 < c["ready_s"] < c["first_rm_s"] == c["seconds"]
    # Committed results name no path of this machine (its log dir is `<tmp>/...`).
    text = out.read_text()
    assert str(SCRIPT.parent.parent) not in text and f"{tempfile.gettempdir()}/" not in text
    assert results["logs"].startswith("<tmp>/knit-peers-logs-")


@pytest.mark.unit
def test_results_name_no_path_of_this_machine() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from peers import REPO, machine_neutral
    finally:
        sys.path.remove(str(SCRIPT.parent))
    trace = (f'File "{REPO}/knit/application.py", line 3\n'
             f'File "{os.path.dirname(os.__file__)}/concurrent/futures/thread.py"\n'
             f'logs in {tempfile.gettempdir()}/knit-peers-logs-x; java /usr/lib/jvm/j17')
    assert machine_neutral(trace) == ('File "knit/application.py", line 3\n'
                                      'File "<stdlib>/concurrent/futures/thread.py"\n'
                                      'logs in <tmp>/knit-peers-logs-x; java /usr/lib/jvm/j17')


@pytest.mark.unit
def test_run_order_rotates_round_by_round() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from peers import rotated
    finally:
        sys.path.remove(str(SCRIPT.parent))
    tools = ["knit", "distributedshell", "skein"]
    assert [rotated(tools, run)[0] for run in (1, 2, 3, 4)] == ["knit", "distributedshell", "skein", "knit"]
    assert sorted(rotated(tools, 2)) == sorted(tools)
