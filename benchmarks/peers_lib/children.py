"""Peer processes run by benchmarks/peers.py: each peer runs in its own venv, so the
benchmark talks to it through a child process (one JSON object a line each way)."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path


class PeerError(RuntimeError):
    """A peer child failed, timed out or answered an error."""


def pid_alive(pid: int | None) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_pid(pid: int | None) -> bool:
    """SIGKILL ``pid`` if alive (only pids this benchmark started are passed here)."""
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
            return True
        except ProcessLookupError:
            pass
    return False


class Child:
    """A long-lived peer process serving commands (peers_lib/_bench_*.py)."""

    def __init__(self, label: str, argv: list[str], env: dict, log_path: Path, cwd: str,
                 ready_timeout: float = 120) -> None:
        self.label = label
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True,
                                     start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.driver_pid: int | None = None
        try:
            self.ready = self.expect({"ready"}, ready_timeout)
        except BaseException:
            self.close()
            raise
        self.driver_pid = self.ready.get("driver_pid")

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.lines.put(json.loads(line))
            except ValueError:
                continue
        self.lines.put(None)  # EOF

    def stderr_tail(self, chars: int = 2000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def send(self, **cmd) -> None:
        """Write one command line."""
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise PeerError(f"{self.label}: cannot send {cmd.get('cmd')}: {e}; "
                            f"stderr: {self.stderr_tail()}") from e

    def expect(self, events: set[str], timeout: float, seen: list | None = None) -> dict:
        """Next message whose event is in ``events``; others go to ``seen``. Raises
        PeerError on an "error" answer, on exit, or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise PeerError(f"{self.label}: no {sorted(events)} within {timeout:.0f} s")
            if msg is None:
                self.proc.wait(timeout=10)
                raise PeerError(f"{self.label} exited (code {self.proc.returncode}); "
                                f"stderr: {self.stderr_tail()}")
            if msg.get("event") == "error":
                raise PeerError(f"{self.label}: {msg.get('message')}")
            if msg.get("event") in events:
                return msg
            if seen is not None:
                seen.append(msg)

    def close(self) -> list[int]:
        """Ask it to quit; kill its process group if it does not; kill its skein driver if
        still alive. Returns the pids that had to be killed."""
        killed = []
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the session we started
                self.proc.wait()
                killed.append(self.proc.pid)
        time.sleep(0.5)
        if kill_pid(self.driver_pid):
            killed.append(self.driver_pid)
        self._log.close()
        return killed
