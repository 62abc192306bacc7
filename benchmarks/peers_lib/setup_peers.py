"""Install knit's peers (skein 0.8.2, dask-yarn 0.9) for benchmarking against the MiniCluster.

Everything goes under one root (``$PEER_VENVS_ROOT``, default ``~/.cache/knit/peer-venvs``):

    skein-0.8.2/          venv: skein 0.8.2 and its tested dependency versions
    dask-yarn-0.9/        venv: dask-yarn 0.9, dask/distributed 2023.9.2, skein 0.8.2, venv-pack
    dask-yarn-0.9.tar.gz  that venv packed with venv-pack (only for environment=<archive> runs)
    yarn-shim/yarn        `yarn classpath [--glob]` for skein's driver (there is no `yarn` here)
    skein-config/         SKEIN_CONFIG: skein's credentials, instead of ~/.skein

Every function is idempotent: a venv whose marker file lists the same requirements is kept.
Run ``python benchmarks/peers_lib/setup_peers.py [--force] [--pack]`` (any Python >= 3.8; knit's
venv python finds knit's client classpath by itself, others need ``--client-classpath``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("PEER_VENVS_ROOT", Path.home() / ".cache" / "knit" / "peer-venvs"))
MARKER = ".knit-peer-requirements.json"

# Tested on Python 3.11 / Java 17 / Hadoop 3.5.0 (knit's MiniCluster). skein 0.8.2's generated
# *_pb2 modules use the AddSerializedFile style and import and run with today's protobuf and
# grpcio: no `protobuf<4` pin nor PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION is needed. The pins
# below are the versions the benchmark ran with, for repeatable benchmarks, not requirements.
SKEIN_DEPS = ["grpcio==1.85.3", "protobuf==7.36.2", "cryptography==50.0.2", "pyyaml==6.0.4"]
SKEIN_REQUIREMENTS = ["skein==0.8.2", *SKEIN_DEPS]
# dask-yarn 0.9 imports only with distributed <= 2023.9.2 (later releases dropped names it
# imports); dask is pinned to the matching release.
DASK_YARN_REQUIREMENTS = [
    "dask-yarn==0.9", "dask==2023.9.2", "distributed==2023.9.2", *SKEIN_REQUIREMENTS,
    "venv-pack==0.2.0",
]

SKEIN_VENV = "skein-0.8.2"
DASK_YARN_VENV = "dask-yarn-0.9"


def _log(msg: str) -> None:
    print(f"[setup_peers] {msg}", file=sys.stderr, flush=True)


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_versions(venv: Path, names: list[str]) -> dict[str, str]:
    """Distribution versions actually installed in ``venv`` (None where missing)."""
    code = ("import importlib.metadata as m, json, sys\n"
            "out = {}\n"
            "for n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = None\n"
            "print(json.dumps(out))")
    done = subprocess.run([str(_python(venv)), "-c", code, *names], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def _req_name(req: str) -> str:
    return req.split("==")[0].split("<")[0].split(">")[0].strip()


def ensure_venv(name: str, requirements: list[str], root: Path = ROOT,
                force: bool = False) -> Path:
    """Create ``root/name`` with ``requirements`` unless it is there with the same list."""
    venv = root / name
    marker = venv / MARKER
    if not force and marker.is_file() and _python(venv).exists():
        try:
            if json.loads(marker.read_text()) == requirements:
                _log(f"{venv}: up to date")
                return venv
        except ValueError:
            pass
    if venv.exists():
        _log(f"{venv}: rebuilding")
        shutil.rmtree(venv)
    root.mkdir(parents=True, exist_ok=True)
    _log(f"{venv}: creating with {' '.join(requirements)}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(_python(venv)), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *requirements], check=True)
    marker.write_text(json.dumps(requirements))
    return venv


def _check_import(venv: Path, module: str) -> None:
    subprocess.run([str(_python(venv)), "-W", "ignore", "-c", f"import {module}"], check=True)


def setup_skein(root: Path = ROOT, force: bool = False) -> dict:
    """(a) The skein venv. Returns ``{"venv", "python", "versions"}``."""
    venv = ensure_venv(SKEIN_VENV, SKEIN_REQUIREMENTS, root, force)
    _check_import(venv, "skein")
    versions = installed_versions(venv, [_req_name(r) for r in SKEIN_REQUIREMENTS])
    _log(f"skein venv versions: {versions}")
    return {"venv": str(venv), "python": str(_python(venv)), "versions": versions}


def setup_dask_yarn(root: Path = ROOT, force: bool = False, pack: bool = False) -> dict:
    """(b) The dask-yarn venv, and with ``pack`` its venv-pack archive.

    dask-yarn does not need an archive when every node sees the same filesystem (as the
    MiniCluster's NodeManagers, all on this machine, do): ``environment="python://<python>"``
    runs workers with ``<python> -m dask_yarn.cli``. An archive (``environment=<path>.tar.gz``)
    is localized to, and unpacked in, every container instead.

    Returns ``{"venv", "python", "environment", "archive" (or None), "versions"}``.
    """
    venv = ensure_venv(DASK_YARN_VENV, DASK_YARN_REQUIREMENTS, root, force)
    _check_import(venv, "dask_yarn")
    archive = None
    if pack:
        archive = root / f"{DASK_YARN_VENV}.tar.gz"
        if force or not archive.is_file() or archive.stat().st_mtime < (venv / MARKER).stat().st_mtime:
            _log(f"packing {venv} -> {archive}")
            if archive.exists():
                archive.unlink()
            subprocess.run([str(venv / "bin" / "venv-pack"), "--quiet", "-p", str(venv),
                            "-o", str(archive)], check=True)
        else:
            _log(f"{archive}: up to date")
        archive = str(archive)
    versions = installed_versions(venv, [_req_name(r) for r in DASK_YARN_REQUIREMENTS])
    _log(f"dask-yarn venv versions: {versions}")
    return {"venv": str(venv), "python": str(_python(venv)),
            "environment": f"python://{_python(venv)}", "archive": archive,
            "versions": versions}


def find_client_classpath(explicit: str | None = None, root: Path = ROOT) -> Path:
    """A file holding knit's Hadoop client classpath: an explicit path,
    ``$KNIT_CLIENT_CLASSPATH``, else written from the importable knit's jars (fetched on
    first use) into ``<root>/yarn-shim/client-classpath.txt``."""
    for c in (explicit, os.environ.get("KNIT_CLIENT_CLASSPATH")):
        if c and Path(c).is_file():
            return Path(c).resolve()
    try:
        from knit import java
    except ImportError:
        raise FileNotFoundError(
            "knit's client classpath: run with knit's venv python, or pass --client-classpath "
            "/ set KNIT_CLIENT_CLASSPATH") from None
    written = root / "yarn-shim" / "client-classpath.txt"
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(os.pathsep.join(java.client_classpath()) + "\n")
    return written


_SHIM = """#!/bin/sh
# Generated by benchmarks/peers_lib/setup_peers.py: a stand-in for Hadoop's `yarn` command that
# only answers `yarn classpath [--glob]`, as skein's driver calls it: $HADOOP_CONF_DIR, then
# knit's own Hadoop client jars.
case "$1" in
  classpath)
    if [ -z "$HADOOP_CONF_DIR" ]; then
      echo "yarn (knit shim): HADOOP_CONF_DIR is not set" >&2; exit 1
    fi
    printf '%s:%s\\n' "$HADOOP_CONF_DIR" "$(cat '{classpath}')" ;;
  *)
    echo "yarn (knit shim): only 'yarn classpath [--glob]' is supported" >&2; exit 1 ;;
esac
"""


def make_yarn_shim(root: Path = ROOT, client_classpath: str | None = None) -> dict:
    """(c) A directory holding a ``yarn`` script; put it first on PATH for skein.

    Returns ``{"dir", "yarn", "client_classpath"}``.
    """
    cp = find_client_classpath(client_classpath, root)
    shim_dir = root / "yarn-shim"
    shim_dir.mkdir(parents=True, exist_ok=True)
    yarn = shim_dir / "yarn"
    text = _SHIM.replace("{classpath}", str(cp))
    if not yarn.is_file() or yarn.read_text() != text:
        yarn.write_text(text)
        yarn.chmod(0o755)
        _log(f"wrote {yarn} (classpath from {cp})")
    return {"dir": str(shim_dir), "yarn": str(yarn), "client_classpath": str(cp)}


def find_java_home() -> str:
    """$JAVA_HOME if it has bin/java, else knit's choice, else from `java` on PATH."""
    try:
        from knit import java
        return java.find_java()[1]
    except ImportError:
        pass
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return home
    exe = shutil.which("java")
    if exe is None:
        raise FileNotFoundError("no Java: set JAVA_HOME")
    return str(Path(exe).resolve().parent.parent)


def peer_env(conf_dir: str, shim_dir: str, root: Path = ROOT,
             base: dict | None = None) -> dict[str, str]:
    """Environment for a skein or dask-yarn process against the cluster at ``conf_dir``."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = shim_dir + os.pathsep + env.get("PATH", "")
    env["HADOOP_CONF_DIR"] = conf_dir
    env["JAVA_HOME"] = find_java_home()
    # skein writes its TLS credentials to ~/.skein by default; keep them with the venvs.
    env["SKEIN_CONFIG"] = str(root / "skein-config")
    return env


def setup_all(root: Path = ROOT, force: bool = False, pack: bool = False,
              client_classpath: str | None = None) -> dict:
    return {"skein": setup_skein(root, force),
            "dask_yarn": setup_dask_yarn(root, force, pack),
            "yarn_shim": make_yarn_shim(root, client_classpath),
            "java_home": find_java_home(),
            "skein_config": str(root / "skein-config")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--force", action="store_true", help="rebuild the venvs")
    parser.add_argument("--pack", action="store_true",
                        help="also venv-pack the dask-yarn venv")
    parser.add_argument("--client-classpath", help="knit's client-classpath.txt")
    args = parser.parse_args()
    print(json.dumps(setup_all(args.root, args.force, args.pack, args.client_classpath),
                     indent=2))


if __name__ == "__main__":
    main()
