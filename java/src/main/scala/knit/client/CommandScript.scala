package knit.client

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
    "#!/bin/bash\n" + (if (withTokenUpdater) TokenUpdater else "") + (if (withEnv) EnvSetup else "") +
      exports.mkString + command + "\n"
  }

  /** Applications started with a keytab: keeps the container's token file fresh (see
    * knit.container.TokenUpdater; the AM sets the KNIT_ variables). It watches this
    * script's process and ends with it. */
  val TokenUpdater: String = {
    val jvm = (Seq("-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC") ++
      knit.common.AppFiles.JvmCompatOptions).mkString(" ")
    s"""if [ -n "$${KNIT_TOKENS_DIR:-}" ] && [ -n "$${HADOOP_TOKEN_FILE_LOCATION:-}" ]; then
       |  "$$JAVA_HOME/bin/java" $jvm -cp "$$KNIT_CLASSPATH" knit.container.TokenUpdater \\
       |    "$$KNIT_TOKENS_DIR" "$$HADOOP_TOKEN_FILE_LOCATION" $$$$ "$$KNIT_TOKEN_POLL_MS" \\
       |    </dev/null >/dev/null 2>>"$${LOG_DIRS%%,*}/knit-token-updater.log" &
       |fi
       |""".stripMargin
  }

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
       |export PYTHON_BIN="$$KNIT_ENV_PREFIX/bin/python"
       |unset PYTHONHOME
       |""".stripMargin

  /** Single-quotes a string for bash: nothing inside is expanded. */
  def quote(s: String): String = "'" + s.replace("'", "'\"'\"'") + "'"
}
