package knit.client

/** The bash script every container runs: the user's variables, then the user's command.
  *
  * Variables are exported here, single-quoted, rather than handed to YARN as the launch
  * environment: the NodeManager pastes environment values into its launch script inside
  * double quotes, so `$(...)` or a backquote in a value would run.
  */
object CommandScript {
  private val Name = "[A-Za-z_][A-Za-z0-9_]*".r

  def apply(command: String, envvars: Map[String, String]): String = {
    val exports = envvars.toSeq.sortBy(_._1).map { case (k, v) =>
      require(Name.matches(k), s"not a valid environment variable name: $k")
      s"export $k=${quote(v)}\n"
    }
    "#!/bin/bash\n" + exports.mkString + command + "\n"
  }

  /** Single-quotes a string for bash: nothing inside is expanded. */
  def quote(s: String): String = "'" + s.replace("'", "'\"'\"'") + "'"
}
