"""Summaries, goals, docs/benchmarks.md and the plots of benchmarks/peers.py's results."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

TIMING_NOTES = {
    "start": "time.time() just before the call, in the process making it (knit: the "
             "benchmark; DistributedShell: just before its client JVM is spawned; skein, "
             "dask-yarn, skein-dask: their child process, which reports it)",
    "A_end": "the kernel's start time (/proc/<pid>/stat starttime, 10 ms ticks) of the N-th "
             "earliest `sleep 60` process (matched by its whole argv, not its name: knit's "
             "NodeManager watch may run `sleep 5`) in the application's containers; /proc "
             "is polled every 0.2 s only to know when N exist",
    "B_end": "timestamp of the N-th 'add-worker' event in the Dask scheduler's own event log "
             "(client.get_events('all')); client-side polling only where the log lacks it "
             "(labelled in the record's 'source')",
    "C": "inside a fresh Python process: from before the import to the first answer of "
         "the ResourceManager (a list of applications; knit through its client JVM, skein "
         "through its Java driver); interpreter start excluded (process wall time and "
         "each client's own 'ready' recorded too)",
    "D": "VmHWM (/proc/<pid>/status) of the java process in the application's container "
         "..._000001, 3 s after the N-th container's `sleep` started, in A's N = 20 runs "
         "(the largest N when 20 is not measured)",
    "clients": "knit's client JVM and the skein/dask-yarn children's skein.Client() are "
               "started once per cluster, before any run (their start-up is C); "
               "DistributedShell has no long-lived client: its client JVM starts per run",
    "cold": "one run per tool and N on a MiniCluster started for that run alone (nothing "
            "of the tool in HDFS or the NodeManagers' caches, cold daemon JVMs); clients "
            "up before the clock as in the warm runs",
}
# What still differs between the tools after the like-for-like choices; said on the page.
DIFFERENCES = [
    "Asking for containers: knit's AM heartbeats the ResourceManager every 50 ms for a "
    "second after it asks or is granted containers, every 100 ms while asks are "
    "outstanding (1 s otherwise), and asks node-local, spread over the running "
    "NodeManagers; DistributedShell's and skein's AMs heartbeat every 1 s and ask for any "
    "node. Each tool runs as it ships: these are their designs, not benchmark settings.",
    "knit's ApplicationMaster starts from a class-data archive (AppCDS, Java 17+) once an "
    "earlier knit AM on that node has written one after its clean exit (in the NodeManager's "
    "user cache, knit-am.sh): warm knit runs use it on every node where a knit AM ran before "
    "(each node's first AM, the warm-up's or a measured run's, has none; first_worker.py "
    "records it per run). The peers' AMs use only the "
    "JDK's own default archive. The cold runs have no archive: the first AM on a node writes "
    "it, after the clock has stopped, and the next run waits for the cluster to be idle.",
    "Uploads: knit uploads knit.jar to HDFS once per user and jar content and reuses it, and "
    "the NodeManagers keep their copy in the user's cache; DistributedShell and skein upload "
    "their jar for every application, and each NodeManager fetches it anew. The warm runs "
    "include the peers' uploads and downloads and not knit's; the cold runs include both.",
    "Dask workers: knit runs one `dask worker --no-nanny --no-dashboard` process per "
    "container. dask-yarn's default starts its CLI, then a Nanny, then the worker, so the "
    "like-for-like rows are dask-yarn with worker_class=dask.distributed.Worker and skein + "
    "`dask worker --no-nanny --no-dashboard`; the default dask-yarn row is shown beside them "
    "and is not used for the goals.",
    "Dask security: knit's cluster talks TLS (its default, a certificate made per "
    "cluster), dask-yarn's and skein + dask worker's plain TCP (theirs): knit's workers "
    "also load TLS and do handshakes.",
    "skein + dask worker starts its `dask scheduler` process before the clock; knit's and "
    "dask-yarn's clocks include starting their scheduler (in the calling process).",
    "DistributedShell has no long-lived client: its client JVM starts inside "
    "every A run; knit's client JVM and skein's driver are up before the clock (C measures "
    "their start).",
]
MEASUREMENTS = {
    "A": ("call to N containers running `sleep 60`", "s", ("knit", "distributedshell", "skein")),
    "B": ("call to N Dask workers connected", "s", ("knit", "dask-yarn", "dask-yarn-worker", "skein-dask")),
    "C": ("client start-up: import to the first answered ResourceManager call", "s", ("knit", "skein")),
    "D": ("ApplicationMaster JVM peak RSS", "MiB", ("knit", "distributedshell", "skein")),
}
TOOL_TEXT = {"knit": "knit", "distributedshell": "DistributedShell 3.4.2",
             "skein": "skein 0.8.2", "dask-yarn": "dask-yarn 0.9",
             "dask-yarn-worker": "dask-yarn 0.9, worker_class=Worker",
             "skein-dask": "skein 0.8.2 + dask worker"}
# Peers whose Dask workers do what knit's do (one worker process, no Nanny).
LIKE_FOR_LIKE_B = ("dask-yarn-worker", "skein-dask")


def require_matplotlib() -> None:
    """Fail early, before an hour of measuring, if the plots cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit("benchmarks/peers.py needs matplotlib for docs/img/*.png: "
                         "pip install matplotlib (or pip install -e '.[bench]'), or pass "
                         "--quick / --docs to write no docs") from None


def _stats(values: list[float], errors: list[str]) -> dict:
    out: dict = {"runs": len(values), "errors": errors}
    if values:
        out.update(median=statistics.median(values), min=min(values), max=max(values),
                   samples=values)
    return out


def _group(records: list[dict], value) -> dict:
    """{tool: {n: stats}} over the records; ``value(rec)`` is None to skip a record."""
    groups: dict = {}
    for rec in records:
        key = "-" if rec["n"] is None else str(rec["n"])
        slot = groups.setdefault(rec["tool"], {}).setdefault(key, ([], []))
        if "error" in rec:
            slot[1].append(rec["error"])
        else:
            v = value(rec)
            if v is not None:
                slot[0].append(v)
    return {t: {n: _stats(*vs) for n, vs in by_n.items()} for t, by_n in groups.items()}


def summarize(results: dict) -> dict:
    """Median/min/max per mode, measurement, tool and N (errors listed, never dropped)."""
    s: dict = {"modes": {}}
    for mode, out in results.get("modes", {}).items():
        a = out.get("A", [])
        s["modes"][mode] = {
            "A": _group(a, lambda r: r["seconds"]),
            "B": _group(out.get("B", []), lambda r: r["seconds"]),
            "D": _group([r for r in a if r.get("am_wanted")],
                        lambda r: r["am"]["vm_hwm_bytes"] / 2**20 if "am" in r else None),
        }
    s["C"] = _group(results.get("C", []), lambda r: r["seconds"])
    cold = results.get("cold", [])
    s["cold"] = {k: _group([r for r in cold if r.get("measurement") == k], lambda r: r["seconds"])
                 for k in ("A", "B") if any(r.get("measurement") == k for r in cold)}
    return s


def _median(stats: dict, tool: str, n: str):
    return stats.get(tool, {}).get(n, {}).get("median")


def _goal(text: str, mode: str | None, knit, peer, limit: float, kind: str = "ratio",
          unit: str = "s") -> dict:
    g = {"goal": text, "mode": mode, "knit": knit, "peer": peer, "unit": unit}
    if knit is None or (kind == "ratio" and peer is None):
        g.update({"pass": None, "value": None, "why": "not measured (or every run failed)"})
    elif kind == "ratio":
        g.update({"value": knit / peer, "pass": knit / peer <= limit})
    else:
        g.update({"value": knit, "pass": knit <= limit})
    return g


def _goal_value(g: dict) -> str:
    """"3.12 s", or "0.48x: 3.53 vs 7.36 s" (knit vs the peer); older records lack the parts."""
    unit = g.get("unit", "s")
    digits = 0 if unit == "MiB" else 2
    if g.get("peer") is None:
        return f"{g['value']:.{digits}f} {unit}" if "knit" in g else f"{g['value']:.2f}"
    return f"{g['value']:.2f}x: {g['knit']:.{digits}f} vs {g['peer']:.{digits}f} {unit}"


def _best(stats: dict, tools, n: str):
    """The fastest median among `tools` at N, and which tool it is."""
    found = [(_median(stats, t, n), t) for t in tools if _median(stats, t, n) is not None]
    return min(found) if found else (None, None)


def goals(results: dict) -> list[dict]:
    """The goals of issue 18, pass / fail / not measured, per scheduling mode."""
    s = results.get("summary") or summarize(results)
    out = []
    for mode, m in s["modes"].items():
        for n in ("20", "50"):
            best, who = _best(m["A"], ("distributedshell", "skein"), n)
            out.append(_goal(f"A: knit <= 0.5 x the best peer ({TOOL_TEXT.get(who, '-')}) at N = {n}",
                             mode, _median(m["A"], "knit", n), best, 0.5))
        for n in ("5", "20"):
            best, who = _best(m["B"], LIKE_FOR_LIKE_B, n)
            out.append(_goal(f"B: knit <= 0.5 x the fastest like-for-like peer "
                             f"({TOOL_TEXT.get(who, '-')}) at N = {n}", mode,
                             _median(m["B"], "knit", n), best, 0.5))
        out.append(_goal("B: first Dask worker connected <= 2.0 s after YarnCluster(n_workers=1)",
                         mode, _median(m["B"], "knit", "1"), None, 2.0, kind="max"))
        d = m["D"].get("knit", {})
        n = "20" if "20" in d else (sorted(d, key=int)[-1] if d else "20")
        out.append(_goal(f"D: knit's AM peak RSS <= DistributedShell's (N = {n})", mode,
                         _median(m["D"], "knit", n), _median(m["D"], "distributedshell", n), 1.0,
                         unit="MiB"))
    cold = s.get("cold", {}).get("A", {})
    cold_mode = next((r["cluster"].get("mode") for r in results.get("cold", []) if "cluster" in r), None)
    for n in ("20", "50"):
        best, who = _best(cold, ("distributedshell", "skein"), n)
        out.append(_goal(f"A cold: knit <= 0.5 x the best peer ({TOOL_TEXT.get(who, '-')}) at "
                         f"N = {n}, each tool's first application on a fresh cluster", cold_mode,
                         _median(cold, "knit", n), best, 0.5))
    out.append(_goal("C: knit <= 0.5 x skein (to the first answered ResourceManager call)", None,
                     _median(s["C"], "knit", "-"), _median(s["C"], "skein", "-"), 0.5))
    return out


def _fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if unit == "MiB" else f"{v:.2f}"


def _table(stats: dict, unit: str, tools: tuple[str, ...], unavailable: dict) -> list[str]:
    lines = [f"| tool | N | median ({unit}) | min | max | runs | x knit | errors |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    ns = sorted({n for t in stats.values() for n in t}, key=lambda n: (n == "-", n.zfill(4)))
    for n in ns:
        base = _median(stats, "knit", n)
        for tool in tools:
            st = stats.get(tool, {}).get(n)
            if st is None:
                if tool in unavailable:
                    lines.append(f"| {TOOL_TEXT[tool]} | {n} | - | - | - | 0 | - | "
                                 f"{_cell(unavailable[tool])} |")
                continue
            med = st.get("median")
            ratio = f"{med / base:.2f}" if med is not None and base else "-"
            errs = "; ".join(sorted({_cell(e) for e in st["errors"]}))
            lines.append(f"| {TOOL_TEXT[tool]} | {n} | {_fmt(med, unit)} | "
                         f"{_fmt(st.get('min'), unit)} | {_fmt(st.get('max'), unit)} | "
                         f"{st['runs']} | {ratio} | {errs} |")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")[:200]


def plot(stats: dict, tools: tuple[str, ...], title: str, unit: str, path: Path) -> bool:
    """Median vs N per tool, min-max bars. False when nothing to plot."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    drawn = False
    for tool in tools:
        pts = sorted((int(n), st) for n, st in stats.get(tool, {}).items()
                     if n != "-" and "median" in st)
        if not pts:
            continue
        xs = [n for n, _ in pts]
        med = [st["median"] for _, st in pts]
        err = [[st["median"] - st["min"] for _, st in pts],
               [st["max"] - st["median"] for _, st in pts]]
        ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, label=TOOL_TEXT[tool])
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xticks(sorted({int(n) for t in tools for n in stats.get(t, {}) if n != "-"}))
    ax.set_xlabel("N")
    ax.set_ylabel(f"median ({unit}), bars: min-max")
    ax.set_title(title, fontsize=10)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _shown_path(path: str) -> str:
    """``path`` relative to the repository when inside it."""
    repo = Path(__file__).resolve().parents[2]
    try:
        return str(Path(path).resolve().relative_to(repo))
    except ValueError:
        return path


def write_docs(results: dict, docs: Path) -> None:
    """docs/benchmarks.md and docs/img/peers_<measurement>_<mode>.png from the results."""
    s = results["summary"]
    json_path = _shown_path(results.get("out", "benchmarks/results/peers.json"))
    unavailable = results.get("unavailable", {})
    md = ["# Benchmarks: knit and its peers", "",
          f"<!-- Generated by benchmarks/peers.py from {json_path}; do not edit by hand. -->", "",
          f"Measured {results['date']} with `{' '.join(results['command'])}` "
          f"({results.get('wall_s', 0) / 60:.0f} min). Median of {results['config']['runs']} "
          "runs, the tools taking turns run by run; C: "
          f"{results['config']['runs_c']} fresh processes per tool.", ""]
    md += _machine_section(results)
    md += ["## Goals", ""]
    for g in results["goals"]:
        mark = {True: "PASS", False: "FAIL", None: "n/a"}[g["pass"]]
        value = "" if g["value"] is None else f" ({_goal_value(g)})"
        mode = f" [{g['mode']}]" if g["mode"] else ""
        md.append(f"- **{mark}** {g['goal']}{mode}{value}{'' if g['pass'] is not None else ' - ' + g['why']}")
    md.append("")
    img = docs / "img"
    for mode, m in s["modes"].items():
        mode_text = results["modes"][mode].get("minicluster", {}).get("config") or {}
        md += [f"## Scheduling: {mode}", "",
               ("Hadoop 3.5.0's default asynchronous scheduling." if not mode_text else
                "`" + ", ".join(f"{k}={v}" for k, v in mode_text.items()) + "`: containers "
                "are allocated on NodeManager heartbeats (1 s), as before Hadoop 3.5."), ""]
        if results["modes"][mode].get("error"):
            md += [f"This mode failed: `{_cell(results['modes'][mode]['error'])}`", ""]
        for key in ("A", "B", "D"):
            title, unit, tools = MEASUREMENTS[key]
            if not m[key]:
                continue
            md += [f"### {key}: {title} ({mode})", ""]
            md += _table(m[key], unit, tools, unavailable) + [""]
            name = f"peers_{key}_{mode}.png"
            if key != "D" and plot(m[key], tools, f"{key}: {title} ({mode})", unit, img / name):
                md += [f"![{key} {mode}](img/{name})", ""]
    if s.get("cold"):
        mode = next((r["cluster"].get("mode") for r in results["cold"] if "cluster" in r), "-")
        md += [f"## Cold runs ({mode})", "",
               "One run per tool and N, each on a MiniCluster of its own started for it: "
               "nothing of the tool is in HDFS or in the NodeManagers' caches yet and the "
               "daemons' JVMs are cold. The clients are up before the clock, as in the warm "
               "runs (their start-up is C).", ""]
        for key, stats in s["cold"].items():
            title, unit, tools = MEASUREMENTS[key]
            md += [f"### {key} cold: {title}", ""] + _table(stats, unit, tools, unavailable) + [""]
    if s["C"]:
        title, unit, tools = MEASUREMENTS["C"]
        md += [f"## C: {title}", ""] + _table(s["C"], unit, tools, unavailable) + [""]
    md += _floors_section(results)
    md += _first_worker_section()
    md += _scale_section()
    md += ["## What still differs", ""] + [f"- {d}" for d in DIFFERENCES] + [""]
    md += ["## How it is measured", ""]
    md += [f"- **{k}**: {v}" for k, v in results["timing"].items()]
    md += [f"- {results['versions']['distributedshell_note']}.", "",
           "Full records (every run, errors with tracebacks, container start offsets, AM pids): "
           f"`{json_path}`. "
           "See benchmarks/README.md to run it.", ""]
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "benchmarks.md").write_text("\n".join(md))


FIRST_WORKER = Path(__file__).resolve().parent.parent / "results" / "first_worker.json"
SCALE = Path(__file__).resolve().parent.parent / "results" / "scale.json"


def _floors_section(results: dict) -> list[str]:
    """What this machine allows B: N worker imports at once, before any cluster ran."""
    floors = results.get("floors", {}).get("worker_import_s")
    if not floors:
        return []
    md = ["## What this machine allows: N workers' imports at once", "",
          f"Before any cluster started: {results['floors']['what']}. Every tool's N Dask workers "
          "import at least this on these cores, on top of YARN's allocations and launches and "
          "their registration; B's goal asks knit for half of the fastest like-for-like peer.", "",
          "| N | " + " | ".join(k.replace("_", " ") for k in floors) + " |",
          "| --- |" + " --- |" * len(floors)]
    for n in sorted({n for f in floors.values() for n in f}, key=int):
        md.append(f"| {n} | " + " | ".join(f"{f[n]:.2f} s" if n in f else "-" for f in floors.values()) + " |")
    return md + [""]


def _scale_section() -> list[str]:
    """benchmarks/scale.py's last run, if any: 1,000 containers, knit and DistributedShell."""
    if not SCALE.exists():
        return []
    sc = json.loads(SCALE.read_text())
    med = sc["median"]
    if "knit" not in med:  # a result of the older, knit-only form
        return []
    src = sc.get("knit_source", {})
    at = f" at {src['sha'][:7]}{' (with local changes)' if src.get('dirty') else ''}" if src.get("sha") else ""
    goals = sc["goals"]
    rows = (("running_s", "start to the last `sleep 600` started", "s"),
            ("containers_gone_s", "kill to none of the containers' processes left", "s"),
            ("gone_s", "kill to no process of the application left (its AM's too)", "s"),
            ("am_rss_mib", "AM peak RSS", "MiB"),
            ("kill_returned_s", "the kill call returned", "s"))
    tools = [t for t in ("knit", "distributedshell") if t in med]
    both = len(tools) == 2  # then a knit / DistributedShell column
    md = ["## Scale: 1,000 containers", "",
          f"`benchmarks/scale.py` (a separate run{at}, {sc.get('date', '?')}): "
          f"{sc['cluster']['nodemanagers']} NodeManagers on this machine, `sleep 600` in each "
          f"container, median of {sc['runs']} runs per tool, turns rotated; DistributedShell "
          "(its client started in the run, killed through the ResourceManager) is the floor: "
          "the plainest YARN application, nothing but the command in its containers. Load average at the "
          f"start: {', '.join(f'{x:.1f}' for x in sc['cluster'].get('load_average_at_start', []))} "
          f"on {sc['cluster'].get('cpus', '?')} cores.", "",
          "| | " + " | ".join(TOOL_TEXT.get(t, t) for t in tools)
          + (" | knit / DistributedShell" if both else "") + " | goal (knit) |",
          "| --- |" + " --- |" * (len(tools) + 1 + both)]
    for key, label, unit in rows:
        if not all(key in med[t] for t in tools):
            continue
        goal = goals.get(key)
        verdict = "" if goal is None else f"{goal:g} {unit}: {'PASS' if med['knit'][key] <= goal else 'FAIL'}"
        ratio = f" | {med['knit'][key] / med['distributedshell'][key]:.2f}x" if both else ""
        md.append(f"| {label} | " + " | ".join(f"{med[t][key]:.1f} {unit}" for t in tools)
                  + f"{ratio} | {verdict} |")
    return md + ["", "Every run is in `benchmarks/results/scale.json`; benchmarks/README.md says "
                 "where the time goes.", ""]


def _first_worker_section() -> list[str]:
    """The time line of benchmarks/first_worker.py's last run, if any (a separate script:
    one YarnCluster(n_workers=1) at a time, with the AM's and the worker's own logs)."""
    if not FIRST_WORKER.exists():
        return []
    fw = json.loads(FIRST_WORKER.read_text())
    med = fw["median_s"]
    src = fw.get("knit_source", {})
    at = f" at {src['sha'][:7]}{' (with local changes)' if src.get('dirty') else ''}" if src.get("sha") else ""
    md = ["## First worker: where the time goes", "",
          f"`benchmarks/first_worker.py` (a separate run{at}, {fw.get('date', 'date not recorded')}; "
          f"median of {len(fw['runs'])} runs on a 2-NodeManager cluster, asynchronous scheduling), "
          "seconds after `YarnCluster(n_workers=1)` was called. Its total is not B's N = 1 "
          "row above (another cluster, at another time): the steps are what it is for.", "",
          "| step | at | since the step before |", "| --- | --- | --- |"]
    previous = 0.0
    for step, label in FIRST_WORKER_STEPS:
        if step in med:
            md.append(f"| {label} | {med[step]:.2f} | +{med[step] - previous:.2f} |")
            previous = med[step]
    if "am_jvm" in med and "am_registered" in med:
        md += ["", f"AM start, its JVM's start to registered with the ResourceManager: "
                   f"{med['am_registered'] - med['am_jvm']:.2f} s."]
    mapped = [r["am_class_archive"] for r in fw["runs"] if "am_class_archive" in r]
    if mapped:
        md += [f"The AM started from its node's class-data archive in {sum(mapped)} of "
               f"{len(mapped)} runs (each node's first AM, the warm-up's or a measured one, writes it after its run's clock has stopped)."]
    if "returned" in med:
        md += [f"`YarnCluster()` itself returned at {med['returned']:.2f} s (it waits for the "
               "AM, not for workers)."]
    return md + [""]


FIRST_WORKER_STEPS = (
    ("submitted", "submitted (the ResourceManager's start time)"),
    ("am_jvm", "AM container's JVM started"),
    ("am_registered", "AM registered"),
    ("allocated", "worker container allocated"),
    ("launched", "worker container launched (NodeManager call returned)"),
    ("script", "localized, its first process started"),
    ("worker_up", "worker imported, listening"),
    ("registered", "worker registered with the scheduler"),
)


def _machine_section(results: dict) -> list[str]:
    m, v = results["machine"], results["versions"]
    ks = v.get("knit_source", {})
    lines = ["## Machine and versions", "",
             f"- {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']:.1f} GiB RAM, "
             f"Linux {m['kernel']}, load average at start {m['loadavg_at_start'][0]:.2f}",
             f"- Java: {m['java']}; Python {m['python']}",
             f"- Cluster: knit's MiniCluster, Hadoop {v.get('hadoop_cluster', '?')}, "
             f"{results['config']['nodemanagers']} NodeManagers x "
             f"{results['config']['nodemanager_memory_mb']} MB, capacity scheduler",
             f"- knit {v['knit']} at {(ks.get('sha') or '?')[:10]}"
             f"{' (uncommitted changes)' if ks.get('dirty') else ''}; distributed "
             f"{v['knit_venv']['distributed']} in knit's venv",
             f"- Hadoop DistributedShell: `{v['distributedshell_jar']}` (3.5.0 is not on "
             "Maven Central)"]
    if "skein_venv" in v:
        lines.append(f"- skein venv: {_versions(v['skein_venv'])}")
    if "dask_yarn_venv" in v:
        lines.append(f"- dask-yarn venv: {_versions(v['dask_yarn_venv'])}")
    for tool, why in results.get("unavailable", {}).items():
        lines.append(f"- **{TOOL_TEXT[tool]} could not run**: {_cell(why)}")
    return lines + [""]


def _versions(d: dict) -> str:
    return ", ".join(f"{k} {val}" for k, val in d.items())


def text_summary(results: dict) -> str:
    """What the terminal shows at the end."""
    s = results["summary"]
    lines = []
    for mode, m in s["modes"].items():
        for key in ("A", "B", "D"):
            for tool, by_n in m[key].items():
                for n, st in sorted(by_n.items(), key=lambda kv: int(kv[0])):
                    med = _fmt(st.get("median"), MEASUREMENTS[key][1])
                    lines.append(f"{mode:<5} {key} {tool:<17} N={n:<3} median {med}"
                                 f"{' errors: ' + str(len(st['errors'])) if st['errors'] else ''}")
    for tool, by_n in s["C"].items():
        st = by_n["-"]
        lines.append(f"C {tool:<6} median {_fmt(st.get('median'), 's')}")
    for g in results["goals"]:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[g["pass"]]
        lines.append(f"{mark} {g['goal']}{' [' + g['mode'] + ']' if g['mode'] else ''}")
    return "\n".join(lines)
