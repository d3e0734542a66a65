# Shared shell helpers for Ringlink's scripts (sourced, not run).

# Find a JDK 25 and export JAVA_HOME/PATH for it. The default `java` on Debian is 17,
# which cannot run Ringlink (the FFM API is final from 22; we build for 25).
ringlink_find_jdk25() {
  local c
  for c in "${RINGLINK_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/jdk-25*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    if "$c/bin/java" -version 2>&1 | head -1 | grep -qE '"25([."]|$)'; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      # Maven's own libraries (Guice) still use sun.misc.Unsafe; JDK 25 warns on every build.
      case " ${MAVEN_OPTS:-} " in *unsafe-memory-access*) ;; *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;; esac
      return 0
    fi
  done
  echo "ringlink: no JDK 25 found. Install one (e.g. Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  echo "          or point RINGLINK_JAVA_HOME at it. 'java' on the PATH is: $(java -version 2>&1 | head -1)" >&2
  return 1
}

# Install Debian packages that are missing (idempotent, quiet when nothing is missing).
ringlink_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "ringlink: missing packages: ${missing[*]} (run as root, or install them with apt-get)" >&2
    return 1
  fi
  echo "ringlink: installing ${missing[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# Print the path of the CLI jar (ringlink-cli/target/ringlink.jar), building it first with the
# Maven wrapper when it is missing or older than the sources or a POM. Needs neither root nor
# Debian packages (Maven itself comes through the wrapper). $1: the source tree's root.
ringlink_cli_jar() {
  local root="$1" jar="$1/ringlink-cli/target/ringlink.jar"
  if [ ! -f "$jar" ] || [ -n "$(find "$root"/ringlink-core/src/main "$root"/ringlink-cli/src/main "$root"/pom.xml "$root"/ringlink-*/pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
    echo "ringlink: building $jar ..." >&2
    # -am: core first; no javadoc/sources jars for a local run
    (cd "$root" && ./mvnw -B -q -ntp -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true \
        -pl ringlink-cli -am package >&2)
  fi
  echo "$jar"
}
