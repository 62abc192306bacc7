# Starts knit's ApplicationMaster: bash knit-am.sh <main class> <java> <JVM options...>
#
# On Java 17 and later the JVM maps the classes it loads from a class-data archive (AppCDS)
# when this node has one for this Java, this classpath and this knit.jar: some 6,700 classes
# of the JDK, Hadoop, Scala and knit, which otherwise cost the AM 0.8 CPU-seconds of loading
# and verifying before it registers (0.4 s of its start on 2 cores). The first AM of a user
# on a node writes the archive after it has ended cleanly (11 s of CPU here, at nice 10,
# once); an archive the JVM refuses is removed by the AM and not written again
# (ApplicationMasterMain). Java 8 has no archives of application classes, and Java 11
# writes one in the interpreter (27 s here, for 0.7 s saved per later AM): on both the AM
# runs without one.
#
# An administrator turns archives off for a cluster with the NodeManagers' forced
# environment: yarn.nodemanager.admin-env=...,KNIT_AM_CLASS_ARCHIVE=off (YARN appends a
# value to one already set, hence the ':' match).
#
# The archive lives beside the NodeManager's cache of the user's files (usercache/<user>/,
# where knit.jar's copy is kept), in a directory readable by the user alone: the AM maps
# nothing another user could have written.
set -u
main=$1
shift

java_feature() {  # 8 for "1.8.0_392", 11 for "11.0.13", 17 for "17.0.15"
  local v
  v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\)[^0-9].*/\1/p; s/^JAVA_VERSION="\([0-9][0-9]*\)"$/\1/p' \
    "${JAVA_HOME:-}/release" 2>/dev/null | head -n 1)
  if [ "$v" = 1 ]; then v=8; fi
  echo "${v:-0}"
}

local_dir=${LOCAL_DIRS:-}
local_dir=${local_dir%%,*}            # .../usercache/<user>/appcache/<application>
archive_dir=${local_dir%/appcache/*}/knit-cds
case ":${KNIT_AM_CLASS_ARCHIVE:-}:" in
  *:off:*) exec "$@" "$main" ;;
esac
if [ "$(java_feature)" -lt 17 ] || [ -z "$local_dir" ] || [ "$archive_dir" = "$local_dir/knit-cds" ] ||
   ! jar=$(readlink -f knit.jar); then
  exec "$@" "$main"
fi

# The classpath as the archive records it: knit.jar by its real path in the NodeManager's
# cache (the same for every application while the jar is unchanged; the JVM compares paths
# as written), then the jars, then the directories (HADOOP_CONF_DIR's): a non-empty directory
# before a jar that classes come from stops the JVM from writing an archive.
classpath=$jar
dirs=
set -f
old_ifs=$IFS
IFS=:
for entry in ${CLASSPATH:-}; do
  case $entry in
    ''|"$PWD/knit.jar"|knit.jar|./knit.jar) ;;
    *.jar|*'*') classpath="$classpath:$entry" ;;
    *) dirs="$dirs:$entry" ;;
  esac
done
IFS=$old_ifs
set +f
export CLASSPATH="$classpath$dirs"

key=$(printf '%s\n' "$JAVA_HOME" "$CLASSPATH" | cksum | cut -d ' ' -f 1)
archive="$archive_dir/am-$key.jsa"

# Another user's directory (or a link to one) is never read nor written.
if [ -e "$archive_dir" ] && { [ ! -O "$archive_dir" ] || [ -L "$archive_dir" ]; }; then
  exec "$@" "$main"
fi
if [ -f "$archive" ] && [ -O "$archive" ]; then
  exec "$@" "-XX:SharedArchiveFile=$archive" -Xshare:auto "-Dknit.cds.archive=$archive" "$main"
fi
if [ -e "$archive.refused" ]; then
  exec "$@" "$main"
fi

class_list="$PWD/tmp/knit-am.classlist"
"$@" "-XX:DumpLoadedClassList=$class_list" "$main"
status=$?
# One writer per archive (an atomic mkdir): AMs ending while another writes it, or after it
# is written, write nothing, so a node's first busy minutes cost one dump, not one per
# application. A lock older than the dump's 120 s limit is what a killed writer left.
lock="$archive.writing"
if [ "$status" -eq 0 ] && [ -s "$class_list" ] && mkdir -p "$archive_dir" && [ -O "$archive_dir" ] &&
   [ ! -L "$archive_dir" ] && chmod 700 "$archive_dir" &&
   { find "$archive_dir" -maxdepth 1 -name 'am-*.writing' -mmin +10 -exec rmdir {} + 2>/dev/null; true; } &&
   mkdir "$lock" 2>/dev/null && trap 'rmdir "$lock" 2>/dev/null' EXIT && [ ! -e "$archive" ]; then
  # What a killed dump left.
  find "$archive_dir" -maxdepth 1 -name 'am-*.partial' -mmin +10 -exec rm -f {} + 2>/dev/null
  partial="$archive.$$.partial"
  dump_log=${LOG_DIRS:-$PWD/tmp}
  dump_log="${dump_log%%,*}/knit-am-cds.log"   # with the AM's logs
  started=$(date +%s)
  if nice -n 10 timeout 120 "$@" -Xshare:dump "-XX:SharedClassListFile=$class_list" \
       "-XX:SharedArchiveFile=$partial" > "$dump_log" 2>&1 && [ -s "$partial" ]; then
    chmod 600 "$partial" && mv -f "$partial" "$archive" &&
      echo "knit: wrote the class-data archive $archive in $(( $(date +%s) - started )) s;" \
        "the next ApplicationMasters on this node start from it" >&2
    # Archives of earlier knit jars or Hadoop installs (some 60 MB each): the newest 3 stay.
    ls -t "$archive_dir"/am-*.jsa 2>/dev/null | tail -n +4 | while read -r old; do rm -f "$old"; done
  else
    rm -f "$partial"
    echo "knit: could not write a class-data archive (see knit-am-cds.log beside this log);" \
      "ApplicationMasters on this node load their classes without one" >&2
    # One try per Java, classpath and knit.jar: a JVM that cannot write one will not later.
    : > "$archive.refused"
  fi
fi
exit "$status"
