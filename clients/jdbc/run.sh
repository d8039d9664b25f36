#!/usr/bin/env bash
# Runs the JDBC smoke client: run.sh HOST PORT TABLE [USER PASSWORD [START]]
# Build the jar first: mvn -q -f clients/jdbc/pom.xml -DskipTests package
# Env: GENOFLIGHT_JDBC_EXTRA (extra URL params), JAVA (java binary), GENOFLIGHT_JDBC_DEBUG (stack traces).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/genoflight-jdbc-smoke.jar"
if [[ ! -f "$jar" ]]; then
  echo "ERROR	$jar missing: run mvn -q -f $here/pom.xml -DskipTests package" >&2
  exit 1
fi
# The only JVM flag the driver needs (its docs, JDK 11+): Arrow's memory code reads
# java.nio.Buffer internals. The driver is used from the classpath, so ALL-UNNAMED is enough.
exec "${JAVA:-java}" --add-opens=java.base/java.nio=ALL-UNNAMED -jar "$jar" "$@"
