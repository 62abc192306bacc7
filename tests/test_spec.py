"""An application started from one spec: roles and their containers at start, from the
API (`start(spec)`) and from a file (`knit start --spec app.yaml`, with options that
override its fields)."""
from __future__ import annotations

import json

from helpers import wait_for
from knit import ApplicationSpec, Knit, RoleSpec
from knit.messages import RoleRestarts
from test_cli import knit_cli, ok


def running_by_role(app) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in app.get_containers():
        if c.state == "RUNNING":
            counts[c.role] = counts.get(c.role, 0) + 1
    return counts


def test_a_spec_with_a_role_starts_both_kinds_of_containers(minicluster):
    spec = ApplicationSpec("sleep 600", num_containers=1, memory=256, app_name="spec-app",
                           roles={"sidecar": RoleSpec("sleep 600", num_containers=1, memory=256)})
    with Knit(minicluster.conf_dir) as k:
        k.start(spec)
        assert k.roles == {"main", "sidecar"}
        wait_for(lambda: running_by_role(k) == {"main": 1, "sidecar": 1}, 120,
                 "a main container and a sidecar")
        assert k.status().name == "spec-app"
    assert k.status().final_status == "SUCCEEDED"


def test_knit_start_reads_a_spec_file_and_options_override_it(minicluster, tmp_path):
    (tmp_path / "app.yaml").write_text(
        "command: sleep 600\n"
        "num_containers: 1\n"
        "memory: 256 MiB\n"
        "app_name: from-a-file\n"
        "roles:\n"
        "  sidecar: {command: sleep 600, num_containers: 1, memory: 256}\n")
    conf = minicluster.conf_dir
    app_id = ok(knit_cli("start", "--spec", str(tmp_path / "app.yaml"), "-n", "2",
                         conf=conf)).strip()
    watcher = Knit(conf)
    watcher.app_id = app_id
    try:
        def counts() -> dict[str, int]:
            status = json.loads(ok(knit_cli("status", app_id, "--json", conf=conf)))
            found: dict[str, int] = {}
            for c in status["containers"]:
                if c["state"] == "RUNNING":
                    found[c["role"]] = found.get(c["role"], 0) + 1
            return found
        wait_for(lambda: counts() == {"main": 2, "sidecar": 1}, 120,
                 "2 main containers (-n 2 over the file's 1) and a sidecar")
        assert watcher.status().name == "from-a-file"
        both = knit_cli("start", "echo", "--spec", str(tmp_path / "app.yaml"), conf=conf)
        assert both.returncode != 0 and "not both" in both.stderr
    finally:
        ok(knit_cli("kill", app_id, conf=conf))


def test_each_role_replaces_its_failed_containers_from_its_own_budget(minicluster):
    """A role's max_restarts is its own: its failures are replaced from it, the main
    role's are not, and the ApplicationMaster's count says so."""
    spec = ApplicationSpec("exit 3", num_containers=1, memory=256, max_restarts=0,
                           keep_alive=True,
                           roles={"flaky": RoleSpec("exit 4", num_containers=1, memory=256,
                                                    max_restarts=2)})
    with Knit(minicluster.conf_dir) as k:
        k.start(spec)
        wait_for(lambda: k.restarts().get("flaky") == RoleRestarts(2, 2, 1)
                 and k.restarts()["main"] == RoleRestarts(0, 0, 1), 120,
                 "3 flaky containers failed, 2 replaced; the main one failed, not replaced",
                 explain=lambda: f"{k.restarts()}")
        failed = [c.role for c in k.get_containers() if c.outcome == "FAILED"]
        assert sorted(failed) == ["flaky"] * 3 + ["main"]


def test_roles_added_at_once_each_get_their_own_priority(minicluster):
    """dask-gateway starts workers at once, each a role: the roles staged concurrently must
    each claim a YARN priority of their own (a shared one is refused by the AM)."""
    from concurrent.futures import ThreadPoolExecutor
    names = [f"r{i}" for i in range(5)]
    with Knit(minicluster.conf_dir) as k:
        k.start("sleep 600", num_containers=0, keep_alive=True, memory=256)
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(lambda n: k.add_role(n, "sleep 600", memory=256), names))
        for name in names:
            k.add_containers(1, role=name)
        wait_for(lambda: running_by_role(k) == dict.fromkeys(names, 1), 120,
                 "one container of each role")
