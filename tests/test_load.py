"""Load: rounds of start 50 containers / kill on one cluster leave nothing and leak nothing."""
from __future__ import annotations

import getpass
import json
import logging
import time

import requests

from helpers import NO_CLASS_ARCHIVE, children_with_arg, class_archives, cwd_of, wait_for
from knit import Knit, MiniCluster
from knit._procfs import am_jvm_pid, peak_rss_bytes, processes_under
from knit.client_jvm import get_client

logger = logging.getLogger(__name__)
ROUNDS, CONTAINERS = 5, 50


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def test_rounds_of_fifty_containers_leave_nothing_and_memory_stays_flat(tmp_path):
    # 50 containers of YARN's 1 GB minimum and the AM: 2 x 28 GB, never used (they sleep).
    with MiniCluster(nodemanagers=2, nodemanager_memory_mb=28672, config=NO_CLASS_ARCHIVE) as mc:
        client_jvm = get_client().proc.pid
        jvms_before = set(children_with_arg("knit.client.ClientMain"))
        rounds = []
        for i in range(ROUNDS):
            k = Knit(mc.conf_dir)
            t0 = time.monotonic()
            app_id = k.start("sleep 600", num_containers=CONTAINERS, memory=256,
                             app_name=f"load-{i}")
            wait_for(lambda: sum(c["state"] == "RUNNING" for c in k.get_containers())
                     == CONTAINERS, 120, f"round {i}: {CONTAINERS} running")
            running_s = time.monotonic() - t0
            am = am_jvm_pid(mc.work_dir, app_id)
            am_mib = peak_rss_bytes(am) / 2**20 if am else float("nan")
            k.kill()
            wait_for(lambda: not [p for p in processes_under(mc.work_dir) if app_id in cwd_of(p)],
                     30, f"round {i}: every process of {app_id} gone")
            rounds.append({"round": i, "running_s": round(running_s, 2),
                           "am_peak_mib": round(am_mib, 1),
                           "client_jvm_mib": round(rss_mib(client_jvm), 1)})
            logger.info("load round %s", rounds[-1])
        (tmp_path / "load.json").write_text(json.dumps(rounds, indent=1))
        print(json.dumps(rounds))  # the numbers, for the record (pytest -s)

        # Nothing leaked: no container process, no extra client JVM, no staging dir.
        # (The NodeManagers run short helper commands of their own: give them a moment.)
        wait_for(lambda: [p for p in processes_under(mc.work_dir) if p != mc.pid] == [], 30,
                 "no process left under the cluster's work dir but the cluster itself")
        assert set(children_with_arg("knit.client.ClientMain")) == jvms_before
        user = getpass.getuser()

        def staging_dirs() -> list[str]:
            listing = requests.get(f"{mc.webhdfs_url}/user/{user}/.knit",
                                   params={"op": "LISTSTATUS", "user.name": user},
                                   timeout=10).json()
            return [s["pathSuffix"] for s in listing["FileStatuses"]["FileStatus"]
                    if s["pathSuffix"].startswith("application_")]
        wait_for(lambda: not staging_dirs(), 30, "no staging dir left in HDFS")
        # The administrator's switch held: the AMs ended cleanly and none wrote an archive.
        assert class_archives(mc) == []
        # Memory flat: the last rounds are no bigger than the early ones (plus GC slack).
        early = max(r["client_jvm_mib"] for r in rounds[1:4])
        assert rounds[-1]["client_jvm_mib"] <= early * 1.25 + 32, rounds
        am_early = max(r["am_peak_mib"] for r in rounds[:3])
        assert all(r["am_peak_mib"] <= am_early * 1.25 + 32 for r in rounds), rounds
