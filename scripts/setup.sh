# Sourced by demo.sh and bootstrap.sh: makes .venv and installs knit into it with the
# extras in KNIT_EXTRAS (default: demo), which also builds the JVM half with Maven
# (setup.py runs `mvn package`). Says what it is doing: the first run takes minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in python3 java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "knit needs $tool: install Python 3.11, a Java 17 JDK and Maven 3.8+ " \
         "(Debian: apt-get install python3-venv openjdk-17-jdk maven)" >&2
    exit 1
  fi
done
if [ ! -x .venv/bin/python ]; then
  echo "knit: making the virtual environment .venv" >&2
  python3 -m venv .venv
fi
echo "knit: installing knit[${KNIT_EXTRAS:-demo}] into .venv and building its JVM half with" \
     "Maven (a few minutes the first time, seconds after)" >&2
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${KNIT_EXTRAS:-demo}]"
