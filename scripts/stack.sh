#!/usr/bin/env bash
# stack.sh — real services for tests, CI and dev, without Docker:
#   Kafka 4.x single-node KRaft (broker+controller) run straight from the Maven Central jars,
#   MariaDB from the distro packages, each on its own data dir under the stack dir.
#
# usage: scripts/stack.sh up                 start both (idempotent), wait until they answer, write <stack>/env
#        scripts/stack.sh down [--purge]     stop both; --purge also deletes their data (keeps the jar cache)
#        scripts/stack.sh status             one line per service; exit 0 if all run, 3 otherwise
#        scripts/stack.sh kafka-class CLASS [ARGS...]   run a Java main class on the stack's Kafka classpath
#
# env:   RTWH_STACK_DIR (default <repo>/.stack), RTWH_STACK_KAFKA_PORT (9092),
#        RTWH_STACK_KAFKA_CONTROLLER_PORT (9093), RTWH_STACK_MYSQL_PORT (3307),
#        RTWH_STACK_MYSQL_PASSWORD (rtwh-root), RTWH_STACK_TIMEOUT (seconds per wait, 90),
#        RTWH_STACK_KAFKA_HEAP (-Xms512m -Xmx512m), RTWH_STACK_TOOL_OPTS (JVM opts for kafka-class, -Xmx512m),
#        RTWH_STACK_MVN_ARGS (extra mvn args, e.g. -Dmaven.repo.local=... or -s settings.xml)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)

HOST=127.0.0.1
KAFKA_PORT=${RTWH_STACK_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${RTWH_STACK_KAFKA_CONTROLLER_PORT:-9093}
MYSQL_PORT=${RTWH_STACK_MYSQL_PORT:-3307}
MYSQL_PASSWORD=${RTWH_STACK_MYSQL_PASSWORD:-rtwh-root}
MYSQL_DATABASES=(gmall gmall_config)
TIMEOUT=${RTWH_STACK_TIMEOUT:-90}
KAFKA_HEAP=${RTWH_STACK_KAFKA_HEAP:--Xms512m -Xmx512m}
TOOL_OPTS=${RTWH_STACK_TOOL_OPTS:--Xmx512m}
POM=$SCRIPT_DIR/kafka/pom.xml
LOG4J_BROKER=$SCRIPT_DIR/kafka/log4j2.xml
LOG4J_TOOLS=$SCRIPT_DIR/kafka/log4j2-tools.xml
APT_UPDATED=0

# ---------------------------------------------------------------- paths

# Resolves the stack dir to an absolute path: java and mariadbd get it on their command
# lines and must not depend on the caller's working directory.
init_paths() {
  local dir=${RTWH_STACK_DIR:-$REPO_DIR/.stack}
  mkdir -p "$dir"
  STACK_DIR=$(cd -- "$dir" && pwd)
  ENV_FILE=$STACK_DIR/env
  KAFKA_DIR=$STACK_DIR/kafka
  KAFKA_LIBS=$KAFKA_DIR/libs
  KAFKA_DATA=$KAFKA_DIR/data
  KAFKA_LOGS=$KAFKA_DIR/logs
  KAFKA_CONF=$KAFKA_DIR/server.properties
  KAFKA_PID=$KAFKA_DIR/kafka.pid
  MDB_DIR=$STACK_DIR/mariadb
  MDB_DATA=$MDB_DIR/data
  MDB_CONF=$MDB_DIR/my.cnf
  MDB_CLIENT=$MDB_DIR/client.cnf
  MDB_INIT=$MDB_DIR/init.sql
  MDB_PID=$MDB_DIR/mariadbd.pid
  MDB_SOCK=$MDB_DIR/mariadbd.sock
  MDB_LOG=$MDB_DIR/mariadbd.err
}

# ---------------------------------------------------------------- helpers

log() { printf 'stack: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Fails with the tail of each given log, so a CI failure is diagnosable from its output alone.
# With SINCE=file set, logs older than that file (an earlier run's) are left out.
die_with_logs() {
  local msg=$1 f
  shift
  log "error: $msg"
  for f in "$@"; do
    [[ -s $f ]] || continue
    [[ -z ${SINCE:-} || $f -nt $SINCE ]] || continue
    printf -- '--- last lines of %s\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  exit 1
}

# True if something accepts TCP connections on HOST:$1 (bash's /dev/tcp: no nc/ss needed).
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Prints the pid stored in $1 if that process is alive and its command line contains $2.
# The marker (a path inside this stack dir) guards against pid reuse and against another
# stack dir's services; zombies have an empty cmdline and so count as dead.
live_pid() {
  local file=$1 marker=$2 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
  printf '%s\n' "$pid"
}

# Runs "$@" detached in its own session (survives the calling shell and its Ctrl-C), output
# appended to $2, lock fd 9 closed so a long-lived service does not hold the stack lock.
# The child writes its own pid to $1 before exec (exec keeps the pid), which stays right even
# if setsid has to fork; we wait for that file so callers can rely on it.
spawn() {
  local pidfile=$1 out=$2 i
  shift 2
  rm -f "$pidfile"
  # keep one previous run's console output; the current one then starts empty
  [[ -s $out ]] && mv -f "$out" "$out.prev"
  # shellcheck disable=SC2016 # $1/$@ expand in the child shell, on purpose
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' spawn "$pidfile" "$@" \
    </dev/null >>"$out" 2>&1 9>&- &
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.1
  done
  die_with_logs "could not start $1" "$out"
}

# Warns when a running service was started with settings that differ from the current env.
warn_if_stale() {
  local name=$1 file=$2
  if ! cmp -s - "$file"; then
    log "warning: $name runs with older settings than the current env; run 'down' then 'up' to apply"
  fi
}

# Waits up to TIMEOUT seconds for pid $1 (matching marker $2) to exit; SIGKILL after that.
wait_exit() {
  local pidfile=$1 marker=$2 name=$3 deadline=$((SECONDS + TIMEOUT)) pid
  while pid=$(live_pid "$pidfile" "$marker"); do
    if ((SECONDS >= deadline)); then
      log "warning: $name (pid $pid) did not stop within ${TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.3
  done
}

# Refuses to start a service whose port is already taken by a process that is not ours.
require_port_free() {
  local port=$1 what=$2
  if port_open "$port"; then
    die "$HOST:$port ($what) is already in use by another process; stop it or set the RTWH_STACK_*_PORT env"
  fi
}

# Installs Debian packages (once per run) without starting their system services: the stack
# runs its own instances, and a packaged mariadb on :3306 is not wanted.
apt_install() {
  ((EUID == 0)) || die "missing $*; install it (apt-get install $*) or rerun as root"
  command -v apt-get >/dev/null || die "missing $* and no apt-get here; install it by hand"
  local guard=/usr/sbin/policy-rc.d own_guard=0
  if [[ ! -e $guard ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard" && own_guard=1
  fi
  log "installing $* with apt-get ..."
  local rc=0
  {
    if ((APT_UPDATED == 0)); then
      DEBIAN_FRONTEND=noninteractive apt-get update -q && APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  } >"$STACK_DIR/apt.log" 2>&1 || rc=$?
  ((own_guard == 0)) || rm -f "$guard"
  ((rc == 0)) || die_with_logs "apt-get install $* failed" "$STACK_DIR/apt.log"
}

# Prints the path of command $1, also looking in the sbin dirs a non-login shell may lack.
find_cmd() {
  local name=$1 dir
  if command -v "$name" 2>/dev/null; then return 0; fi
  for dir in /usr/sbin /usr/local/sbin /sbin; do
    if [[ -x $dir/$name ]]; then
      printf '%s\n' "$dir/$name"
      return 0
    fi
  done
  return 1
}

# Percent-encodes $1 for a URL userinfo; the result is also safe unquoted in a shell line.
urlencode() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

sql_str() {
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\'\'}"
}

cnf_str() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

# Replaces $1 with stdin unless identical (keeps mtimes stable); mode 600, some hold the password.
write_if_changed() {
  local file=$1 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if [[ -f $file ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 0
  fi
  chmod 600 "$tmp"
  mv -f "$tmp" "$file"
}

# Serialises up/down: tests in parallel may all call `up` before they start.
take_lock() {
  exec 9>"$STACK_DIR/.lock"
  flock -w "$((TIMEOUT * 3))" 9 || die "another stack.sh up/down holds $STACK_DIR/.lock"
}

# ---------------------------------------------------------------- kafka

ensure_java() {
  if ! command -v java >/dev/null; then
    apt_install openjdk-17-jre-headless
  fi
  local spec
  spec=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  if ! [[ $spec =~ ^[0-9]+ ]] || ((BASH_REMATCH[0] < 17)); then
    die "Kafka 4.x needs Java 17+, found java '$spec'"
  fi
}

# Copies the broker + tools jars (resolved through ~/.m2, so cached between runs) into the stack
# dir; skipped when the pom has not changed since the last copy. Built in a temp dir and renamed,
# so an interrupted download never leaves a half classpath behind.
kafka_fetch_jars() {
  local want have="" extra=()
  want=$(sha256sum "$POM" | cut -d' ' -f1)
  [[ -f $KAFKA_LIBS/.pom.sha256 ]] && have=$(<"$KAFKA_LIBS/.pom.sha256")
  [[ $want == "$have" ]] && return 0
  command -v mvn >/dev/null || apt_install maven
  read -ra extra <<<"${RTWH_STACK_MVN_ARGS:-}"
  log "fetching Kafka jars with Maven (cached in the local Maven repository) ..."
  rm -rf "$KAFKA_LIBS.tmp"
  mkdir -p "$KAFKA_DIR"
  if ! mvn -B -q -Dstyle.color=never -f "$POM" "${extra[@]}" dependency:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIBS.tmp" >"$KAFKA_DIR/mvn.log" 2>&1; then
    die_with_logs "mvn could not fetch the Kafka jars" "$KAFKA_DIR/mvn.log"
  fi
  printf '%s\n' "$want" >"$KAFKA_LIBS.tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
}

# Runs a short-lived Kafka tool, killed after $1 seconds (a wedged probe must not hang `up`).
# C1-only JIT and serial GC start the JVM noticeably faster.
kafka_tool() {
  local secs=$1
  shift
  timeout "$secs" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_TOOLS" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_config() {
  cat <<EOF
# generated by scripts/stack.sh on every up; edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
# one node: every internal topic has a single replica
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# 1 MB+ values (wide CDC rows, bench payloads) must fit
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
EOF
}

kafka_write_config() {
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  kafka_config | write_if_changed "$KAFKA_CONF"
}

# Formats the KRaft storage once; meta.properties marks a formatted log dir.
kafka_format() {
  [[ -f $KAFKA_DATA/meta.properties ]] && return 0
  local id
  id=$(kafka_tool 60 kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOGS/format.log") ||
    die_with_logs "kafka storage random-uuid failed" "$KAFKA_LOGS/format.log"
  kafka_tool 60 kafka.tools.StorageTool format -t "$id" -c "$KAFKA_CONF" >>"$KAFKA_LOGS/format.log" 2>&1 ||
    die_with_logs "kafka storage format failed" "$KAFKA_LOGS/format.log"
}

kafka_start() {
  local heap=()
  read -ra heap <<<"$KAFKA_HEAP"
  log "starting kafka on $HOST:$KAFKA_PORT ..."
  spawn "$KAFKA_PID" "$KAFKA_LOGS/stdout.log" \
    java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_BROKER" -Dkafka.logs.dir="$KAFKA_LOGS" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF"
}

# Ready means a real metadata round trip (topic list), not merely an open port.
kafka_wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    live_pid "$KAFKA_PID" "$KAFKA_CONF" >/dev/null ||
      SINCE=$KAFKA_PID die_with_logs "kafka exited during startup" "$KAFKA_LOGS/stdout.log" "$KAFKA_LOGS/server.log"
    if port_open "$KAFKA_PORT" && kafka_tool 30 org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  SINCE=$KAFKA_PID die_with_logs "kafka did not answer on $HOST:$KAFKA_PORT within ${TIMEOUT}s" \
    "$KAFKA_LOGS/stdout.log" "$KAFKA_LOGS/server.log"
}

kafka_up() {
  local pid
  if pid=$(live_pid "$KAFKA_PID" "$KAFKA_CONF"); then
    log "kafka already running (pid $pid)"
    kafka_config | warn_if_stale kafka "$KAFKA_CONF"
  else
    require_port_free "$KAFKA_PORT" kafka
    require_port_free "$KAFKA_CONTROLLER_PORT" "kafka controller"
    ensure_java
    kafka_fetch_jars
    kafka_write_config
    kafka_format
    kafka_start
  fi
}

kafka_down() {
  local pid
  if ! pid=$(live_pid "$KAFKA_PID" "$KAFKA_CONF"); then
    log "kafka is not running"
    return 0
  fi
  log "stopping kafka (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true # controlled shutdown runs in the JVM's shutdown hook
  wait_exit "$KAFKA_PID" "$KAFKA_CONF" kafka
  rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------- mariadb

ensure_mariadb() {
  if ! find_cmd mariadbd >/dev/null || ! find_cmd mariadb >/dev/null; then
    apt_install mariadb-server mariadb-client
  fi
  MARIADBD=$(find_cmd mariadbd) || die "mariadbd still missing after install"
}

mariadb_config() {
  cat <<EOF
# generated by scripts/stack.sh on every up; edit the script, not this file
[mysqld]
datadir=$MDB_DATA
socket=$MDB_SOCK
pid-file=$MDB_PID
log-error=$MDB_LOG
port=$MYSQL_PORT
bind-address=$HOST
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
default-time-zone=+00:00
max_allowed_packet=64M
innodb_buffer_pool_size=256M
# A dev/test stack: commits are durable against a crash of mariadbd (the log is written at each commit)
# but not flushed to disk per commit, so many small transactions (mock db's exact mode) are not bound
# by fsync. An OS crash could lose the last second; nothing here needs to survive one.
innodb_flush_log_at_trx_commit=2
sync_binlog=0
# CDC (zongji / Maxwell / Debezium) reads full-row binlog events
server_id=1
log_bin=mysql-bin
binlog_format=ROW
binlog_row_image=FULL
# table maps carry column names, types and charsets: a cdc re-reading rows written before an ALTER TABLE
# decodes them with the columns they had, not today's
binlog_row_metadata=FULL
binlog_expire_logs_seconds=604800
EOF
}

# The client side, for the readiness probe and shutdown: keeps the password off argv.
mariadb_client_config() {
  cat <<EOF
[client]
host=$HOST
port=$MYSQL_PORT
protocol=tcp
user=root
password=$(cnf_str "$MYSQL_PASSWORD")
EOF
}

# Runs on every server start (--init-file): sets the root password for TCP and socket logins with
# mysql_native_password (what mysql2 and zongji speak) and creates the databases. Idempotent.
mariadb_init_sql() {
  local pw db
  pw=$(sql_str "$MYSQL_PASSWORD")
  {
    echo "-- generated by scripts/stack.sh; run by mariadbd --init-file on every start"
    echo "-- kept out of the binlog: CDC readers should not see account changes on every restart"
    echo "SET SESSION sql_log_bin = 0;"
    echo "-- drop anonymous and passwordless host-named accounts that mariadb-install-db creates"
    echo "DELETE FROM mysql.global_priv WHERE User = '' OR Host NOT IN ('localhost', '$HOST');"
    echo "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '$HOST');"
    echo "FLUSH PRIVILEGES;"
    echo "CREATE USER IF NOT EXISTS 'root'@'localhost';"
    echo "CREATE USER IF NOT EXISTS 'root'@'$HOST';"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD($pw);"
    echo "ALTER USER 'root'@'$HOST' IDENTIFIED VIA mysql_native_password USING PASSWORD($pw);"
    echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'localhost' WITH GRANT OPTION;"
    echo "GRANT ALL PRIVILEGES ON *.* TO 'root'@'$HOST' WITH GRANT OPTION;"
    for db in "${MYSQL_DATABASES[@]}"; do
      echo "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
    echo "FLUSH PRIVILEGES;"
  }
}

mariadb_write_config() {
  mkdir -p "$MDB_DIR"
  mariadb_config | write_if_changed "$MDB_CONF"
  mariadb_client_config | write_if_changed "$MDB_CLIENT"
  mariadb_init_sql | write_if_changed "$MDB_INIT"
}

# Creates the system tables once, in a temp dir renamed on success (no half-initialised datadir).
mariadb_install_db() {
  [[ -d $MDB_DATA/mysql ]] && return 0
  local user_opt=() install
  ((EUID == 0)) && user_opt=(--user=root)
  install=$(find_cmd mariadb-install-db) || die "mariadb-install-db not found"
  log "initialising the MariaDB data dir ..."
  rm -rf "$MDB_DATA.tmp"
  if ! "$install" --defaults-file="$MDB_CONF" --datadir="$MDB_DATA.tmp" "${user_opt[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$MDB_DIR/install.log" 2>&1; then
    die_with_logs "mariadb-install-db failed" "$MDB_DIR/install.log"
  fi
  mv "$MDB_DATA.tmp" "$MDB_DATA"
}

mariadb_start() {
  local user_opt=()
  # mariadbd refuses to run as root unless told to
  ((EUID == 0)) && user_opt=(--user=root)
  log "starting mariadb on $HOST:$MYSQL_PORT ..."
  spawn "$MDB_PID" "$MDB_DIR/mariadbd.out" \
    "$MARIADBD" --defaults-file="$MDB_CONF" "${user_opt[@]}" --init-file="$MDB_INIT"
}

mariadb_query() {
  mariadb --defaults-file="$MDB_CLIENT" --connect-timeout=5 -N -B -e "$1"
}

# Ready means the root password works over TCP, exactly how tests will log in.
mariadb_wait_ready() {
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    live_pid "$MDB_PID" "$MDB_CONF" >/dev/null ||
      die_with_logs "mariadb exited during startup" "$MDB_DIR/mariadbd.out" "$MDB_LOG"
    # no bare port probe first: mariadbd logs every unauthenticated connection as a warning
    if mariadb_query 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.3
  done
  die_with_logs "mariadb did not answer on $HOST:$MYSQL_PORT within ${TIMEOUT}s (or rejected the root password)" \
    "$MDB_DIR/mariadbd.out" "$MDB_LOG"
}

mariadb_up() {
  local pid
  ensure_mariadb
  if pid=$(live_pid "$MDB_PID" "$MDB_CONF"); then
    log "mariadb already running (pid $pid)"
    mariadb_config | warn_if_stale mariadb "$MDB_CONF"
    mariadb_init_sql | warn_if_stale mariadb "$MDB_INIT"
    # a changed password is only applied on restart; the probe below then fails loudly
    mariadb_client_config | write_if_changed "$MDB_CLIENT"
  else
    require_port_free "$MYSQL_PORT" mariadb
    mariadb_write_config
    mariadb_install_db
    mariadb_start
  fi
}

mariadb_down() {
  local pid
  if ! pid=$(live_pid "$MDB_PID" "$MDB_CONF"); then
    log "mariadb is not running"
    return 0
  fi
  log "stopping mariadb (pid $pid) ..."
  # a clean shutdown flushes InnoDB; SIGTERM does the same if the password no longer matches
  mariadb-admin --defaults-file="$MDB_CLIENT" --connect-timeout=5 shutdown >/dev/null 2>&1 ||
    kill -TERM "$pid" 2>/dev/null || true
  wait_exit "$MDB_PID" "$MDB_CONF" mariadb
}

# ---------------------------------------------------------------- commands

write_env_file() {
  write_if_changed "$ENV_FILE" <<EOF
# generated by scripts/stack.sh up; load with: . $ENV_FILE
export RTWH_TEST_KAFKA=kafka://$HOST:$KAFKA_PORT
export RTWH_TEST_MYSQL=mysql://root:$(urlencode "$MYSQL_PASSWORD")@$HOST:$MYSQL_PORT/${MYSQL_DATABASES[0]}
EOF
}

cmd_up() {
  local t0=$SECONDS
  take_lock
  # both start first and are awaited after, so their startups overlap
  kafka_up
  mariadb_up
  kafka_wait_ready
  mariadb_wait_ready
  write_env_file
  log "up in $((SECONDS - t0))s"
  printf 'kafka  %-40s (RTWH_TEST_KAFKA)\n' "kafka://$HOST:$KAFKA_PORT"
  printf 'mysql  %-40s (RTWH_TEST_MYSQL)\n' "mysql://root:****@$HOST:$MYSQL_PORT/${MYSQL_DATABASES[0]}"
  printf 'env    . %s\n' "$ENV_FILE"
}

cmd_down() {
  local purge=0
  case ${1:-} in
    "") ;;
    --purge) purge=1 ;;
    *) die "down: unknown option $1 (only --purge)" ;;
  esac
  take_lock
  kafka_down
  mariadb_down
  if ((purge)); then
    log "purging data (the jar cache in $KAFKA_LIBS stays)"
    rm -rf "$KAFKA_DATA" "$KAFKA_LOGS" "$KAFKA_CONF" "$MDB_DIR" "$ENV_FILE"
  fi
}

# $1 name, $2 pidfile, $3 marker, $4 port, $5 address shown
status_line() {
  local pid state
  if pid=$(live_pid "$2" "$3"); then
    state=running
    port_open "$4" || state="running (not answering on :$4)"
  else
    state=stopped pid=-
  fi
  printf '%-6s %-8s pid %-8s %s\n' "$1" "$state" "$pid" "$5"
  [[ $state == running ]]
}

cmd_status() {
  local rc=0
  status_line kafka "$KAFKA_PID" "$KAFKA_CONF" "$KAFKA_PORT" "kafka://$HOST:$KAFKA_PORT" || rc=3
  status_line mysql "$MDB_PID" "$MDB_CONF" "$MYSQL_PORT" "mysql://$HOST:$MYSQL_PORT" || rc=3
  return "$rc"
}

# The stack's classpath for benchmarks and ad-hoc tools; fetches the jars if there are none yet,
# but never swaps them while a broker may be running from them.
cmd_kafka_class() {
  (($# >= 1)) || die "usage: stack.sh kafka-class CLASS [ARGS...]"
  local opts=()
  ensure_java
  [[ -f $KAFKA_LIBS/.pom.sha256 ]] || kafka_fetch_jars
  read -ra opts <<<"$TOOL_OPTS"
  exec java "${opts[@]}" -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J_TOOLS" \
    -cp "$KAFKA_LIBS/*" "$@"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    up | down | status | kafka-class) init_paths ;;
  esac
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    kafka-class) cmd_kafka_class "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
