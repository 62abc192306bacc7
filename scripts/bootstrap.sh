# Sourced by demo.sh and test.sh: makes .venv and installs knit into it, which also
# builds the JVM half with Maven (setup.py runs `mvn package`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for tool in python3 java mvn; do
  if ! command -v "$tool" >/dev/null; then
    echo "knit needs $tool: install Python 3.11, a Java 17 JDK and Maven 3.8+ " \
         "(Debian: apt-get install python3-venv openjdk-17-jdk maven)" >&2
    exit 1
  fi
done
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,demo]"
