package knit.client

import knit.common.AppFiles

/** The bash script every container runs: the user's variables, then the user's command.
  *
  * Variables are exported here, single-quoted, rather than handed to YARN as the launch
  * environment: the NodeManager pastes environment values into its launch script inside
  * double quotes, so `$(...)` or a backquote in a value would run.
  */
object CommandScript {
  private val Name = "[A-Za-z_][A-Za-z0-9_]*".r

  def apply(command: String, envvars: Map[String, String], withEnv: Boolean = false,
      withTokenUpdater: Boolean = false): String = {
    val exports = envvars.toSeq.sortBy(_._1).map { case (k, v) =>
      require(Name.matches(k), s"not a valid environment variable name: $k")
      s"export $k=${quote(v)}\n"
    }
    "#!/bin/bash\n" + NodeManagerWatch + (if (withTokenUpdater) TokenUpdater else "") +
      TokenExpiryNote + HadoopConfSetup + (if (withEnv) EnvSetup else "") + exports.mkString + command + "\n"
  }

  /** Ends the container's processes when its NodeManager is gone (killed: it leaves them
    * running, outside YARN) or no longer knows the container (started again without
    * recovery). It watches, at no cost, the NodeManager's process (the nearest `java`
    * ancestor: on one node the container's processes can see it) every 5 s, and asks the
    * NodeManager's REST API about this container once a minute while that process lives
    * (then only a 404 counts), every 5 s once it is gone. It ends the container's process
    * group only once YARN has given the container up: a 404 (the NodeManager came back
    * without it), or connections refused for longer than YARN waits for a node
    * (`AppFiles.NodeManagerGivenUpAfterVar`, from the AM's `yarn.nm.liveness-monitor.expiry-interval-ms`),
    * after which the ResourceManager has declared the node lost. A NodeManager restarting
    * with recovery (a rolling upgrade) refuses connections for a while and keeps its
    * containers: ending them on two refusals, as knit did, killed every application on
    * every restarted node. Asking every 5 s in every container cost a 1,000-container application
    * 200 REST calls and 200 forks of `sleep` a second; the wait is now a `read -t` on a
    * pipe nobody writes to, which forks nothing. Where no such process is found (another
    * PID namespace) it asks every 5 s, armed by a first 200, so that a NodeManager it cannot
    * ask (HTTPS only, SPNEGO) changes nothing. Only when the group is the container's own
    * (YARN runs it under setsid). Everything but reading this process's group runs in the
    * background: nothing waits for the NodeManager before the command starts.
    */
  val NodeManagerWatch: String =
    """knit_nm_says() {  # 0: 200, 1: 404, 2: no answer, 3: anything else
      |  local status
      |  exec 9<>"/dev/tcp/$NM_HOST/$NM_HTTP_PORT" || return 2
      |  printf 'GET /ws/v1/node/containers/%s?user.name=%s HTTP/1.0\r\nHost: %s\r\nAccept: application/json\r\n\r\n' \
      |    "$CONTAINER_ID" "${HADOOP_USER_NAME:-$USER}" "$NM_HOST" >&9
      |  read -r -t 10 _ status _ <&9
      |  exec 9>&-
      |  case "$status" in 200) return 0 ;; 404) return 1 ;; *) return 3 ;; esac
      |}
      |knit_find_nm() {  # the nearest java ancestor, by pid and start time
      |  local pid=$$ stat comm i
      |  knit_nm_pid= knit_nm_start=
      |  for i in 1 2 3 4 5 6; do
      |    read -r stat 2>/dev/null </proc/$pid/stat || return
      |    set -- ${stat##*") "}; pid=$2
      |    [ "$pid" -gt 1 ] 2>/dev/null || return
      |    read -r comm 2>/dev/null </proc/$pid/comm || return
      |    if [ "$comm" = java ]; then
      |      read -r stat 2>/dev/null </proc/$pid/stat || return
      |      set -- ${stat##*") "}; knit_nm_pid=$pid knit_nm_start=${20}
      |      return
      |    fi
      |  done
      |}
      |knit_nm_lives() {
      |  local stat
      |  [ -n "$knit_nm_pid" ] && read -r stat 2>/dev/null </proc/$knit_nm_pid/stat &&
      |    set -- ${stat##*") "} && [ "${20}" = "$knit_nm_start" ] && return 0
      |  knit_nm_pid=
      |  return 1
      |}
      |knit_stat=; read -r knit_stat 2>/dev/null </proc/$$/stat; set -- ${knit_stat##*") "}; knit_group=${3:-}
      |if [ -n "${NM_HTTP_PORT:-}" ] && [ -n "$knit_group" ]; then
      |  (
      |    [ "$(readlink /proc/$knit_group/cwd 2>/dev/null)" = "$PWD" ] || exit 0
      |    knit_find_nm
      |    [ -n "$knit_nm_pid" ] || knit_nm_says 2>/dev/null || exit 0
      |    exec {knit_timer}<> <(:)
      |    verdict= refusing= ticks=0
      |    while read -r -t 5 -u "$knit_timer"; [ $? -gt 128 ] || sleep 5; kill -0 $$ 2>/dev/null; do
      |      ticks=$((ticks + 1))
      |      if knit_nm_lives; then  # while its process lives, only a 404 counts
      |        [ $((ticks % 12)) -eq 0 ] || continue
      |        knit_nm_says 2>/dev/null; [ $? -eq 1 ] && verdict="no longer runs $CONTAINER_ID"
      |      else
      |        knit_nm_says 2>/dev/null
      |        case $? in
      |          1) verdict="no longer runs $CONTAINER_ID" ;;
      |          2) refusing=${refusing:-$SECONDS}
      |             [ $((SECONDS - refusing)) -ge "${@GIVEN_UP_VAR@:-600}" ] &&
      |               verdict="has refused connections for $((SECONDS - refusing)) s: YARN has declared it lost" ;;
      |          *) refusing= ;;
      |        esac
      |      fi
      |      if [ -n "$verdict" ]; then
      |        echo "$(date -u +%FT%TZ) knit: the NodeManager at $NM_HOST:$NM_HTTP_PORT $verdict: ending its processes" >&2
      |        kill -TERM -- "-$knit_group"; sleep 5; kill -KILL -- "-$knit_group"; exit 0
      |      fi
      |    done
      |  ) </dev/null >/dev/null 2>>"${LOG_DIRS%%,*}/knit-nm-watch.log" &
      |fi
      |set --
      |""".stripMargin.replace("@GIVEN_UP_VAR@", AppFiles.NodeManagerGivenUpAfterVar)

  /** Applications started with a keytab: keeps the container's token file fresh (see
    * knit.container.TokenUpdater; the AM sets the KNIT_ variables). It watches this
    * script's process and ends with it. */
  val TokenUpdater: String = {
    val jvm = (Seq("-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC") ++
      AppFiles.JvmCompatOptions).mkString(" ")
    val (dir, classpath, poll) = (AppFiles.TokensDirVar, AppFiles.ClasspathVar, AppFiles.TokenPollMsVar)
    s"""if [ -n "$${$dir:-}" ] && [ -n "$${HADOOP_TOKEN_FILE_LOCATION:-}" ]; then
       |  "$$JAVA_HOME/bin/java" $jvm -cp "$$$classpath" knit.container.TokenUpdater \\
       |    "$$$dir" "$$HADOOP_TOKEN_FILE_LOCATION" $$$$ "$$$poll" \\
       |    </dev/null >/dev/null 2>>"$${LOG_DIRS%%,*}/knit-token-updater.log" &
       |fi
       |""".stripMargin
  }

  /** Applications started from a ticket cache: their tokens die at their maximum lifetime
    * (the AM sets KNIT_TOKENS_EXPIRE_AT, in seconds since the epoch), and hdfs-native stops
    * using them a minute before. A command failing after that says why in its stderr,
    * which the HDFS client's own error does not. */
  val TokenExpiryNote: String =
    """if [ -n "${@EXPIRE_AT_VAR@:-}" ]; then
      |  trap 'knit_status=$?; if [ $knit_status -ne 0 ] && [ "$(date +%s)" -ge $((@EXPIRE_AT_VAR@ - 60)) ]; then
      |    echo "$(date -u +%FT%TZ) knit: the command failed as this application'"'"'s delegation tokens expire, at $(date -u -d "@$@EXPIRE_AT_VAR@" +%FT%TZ) (hdfs-native stops using them a minute before): an application started without a keytab (from a ticket cache, or for a proxy user) cannot renew them past their maximum lifetime; start it with its user'"'"'s principal and keytab" >&2
      |  fi' EXIT
      |fi
      |""".stripMargin.replace("@EXPIRE_AT_VAR@", AppFiles.TokensExpireAtVar)

  /** HDFS clients in the container (hdfs-native...) read the client's configuration, which
    * the application shipped (knit.client.HadoopClientConf); the user's envvars, set after,
    * can override it. */
  val HadoopConfSetup: String =
    s"""if [ -d "$$PWD/${knit.common.AppFiles.HadoopConfLink}" ]; then
       |  export HADOOP_CONF_DIR="$$PWD/${knit.common.AppFiles.HadoopConfLink}"
       |fi
       |""".stripMargin

  /** Activates the packed environment YARN unpacked into `knit_env/`: a venv-pack archive
    * (pyvenv.cfg) or a conda-pack one (conda-meta, conda-unpack fixes its prefixes). */
  val EnvSetup: String =
    s"""export KNIT_ENV_PREFIX="$$PWD/${knit.common.AppFiles.EnvLink}"
       |if [ ! -x "$$KNIT_ENV_PREFIX/bin/python" ]; then
       |  echo "knit: the environment archive has no bin/python: not a venv-pack or conda-pack archive" >&2
       |  exit 127
       |fi
       |if [ -f "$$KNIT_ENV_PREFIX/pyvenv.cfg" ]; then
       |  export VIRTUAL_ENV="$$KNIT_ENV_PREFIX"
       |else
       |  export CONDA_PREFIX="$$KNIT_ENV_PREFIX"
       |  if [ -x "$$KNIT_ENV_PREFIX/bin/conda-unpack" ] && [ -w "$$KNIT_ENV_PREFIX" ] &&
       |     [ ! -e "$$KNIT_ENV_PREFIX/.knit-unpacked" ]; then
       |    "$$KNIT_ENV_PREFIX/bin/python" "$$KNIT_ENV_PREFIX/bin/conda-unpack" && touch "$$KNIT_ENV_PREFIX/.knit-unpacked"
       |  fi
       |fi
       |export PATH="$$KNIT_ENV_PREFIX/bin:$$PATH"
       |export ${knit.common.AppFiles.PythonBinVar}="$$KNIT_ENV_PREFIX/bin/python"
       |unset PYTHONHOME
       |""".stripMargin

  /** Single-quotes a string for bash: nothing inside is expanded. */
  def quote(s: String): String = "'" + s.replace("'", "'\"'\"'") + "'"
}
