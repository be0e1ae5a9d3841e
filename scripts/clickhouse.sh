#!/usr/bin/env bash
# Local ClickHouse for cohortlab's warehouse engine: one single node and a two-shard cluster
# (cluster "cohortlab_2shards"), all on 127.0.0.1, configs and data under $CLICKHOUSE_DIR.
#   bash scripts/clickhouse.sh start    # start the three servers, wait until each answers, print the URLs
#   bash scripts/clickhouse.sh stop     # stop them by PID
#   bash scripts/clickhouse.sh status
# Needs Debian's clickhouse-server (18.16; the package starts no service here). Tests read
# COHORTLAB_CLICKHOUSE_URL (the single node) and COHORTLAB_CLICKHOUSE_SHARDS_URL (shard 1, where the
# Distributed table is queried); `eval "$(bash scripts/clickhouse.sh env)"` exports both.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${CLICKHOUSE_DIR:-$PWD/test-output/clickhouse}"
# CLICKHOUSE_PORT_OFFSET moves every port (e.g. 100: single on 28223), for a second set beside the first.
O="${CLICKHOUSE_PORT_OFFSET:-0}"
case "$O" in ''|*[!0-9]*) echo "clickhouse.sh: CLICKHOUSE_PORT_OFFSET must be a number, got \"$O\"" >&2; exit 2 ;; esac
# name http_port tcp_port interserver_port
NODES=("single $((28123 + O)) $((29000 + O)) $((29009 + O))" "shard1 $((28124 + O)) $((29001 + O)) $((29010 + O))" "shard2 $((28125 + O)) $((29002 + O)) $((29011 + O))")

config() { # name http tcp interserver
  local name=$1 http=$2 tcp=$3 inter=$4 d="$DIR/$1"
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/log"
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log><errorlog>$d/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <listen_host>127.0.0.1</listen_host>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>0</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <remote_servers>
    <cohortlab_2shards>
      <shard><replica><host>127.0.0.1</host><port>$((29001 + O))</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$((29002 + O))</port></replica></shard>
    </cohortlab_2shards>
  </remote_servers>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

answers() { curl -sf --max-time 2 "http://127.0.0.1:$1/?query=SELECT%201" >/dev/null 2>&1; }

start() {
  command -v clickhouse-server >/dev/null || { echo "clickhouse.sh: clickhouse-server is not installed (apt-get install --no-install-recommends clickhouse-server clickhouse-client)" >&2; exit 1; }
  for n in "${NODES[@]}"; do
    read -r name http tcp inter <<<"$n"
    if [ -f "$DIR/$name/pid" ] && kill -0 "$(cat "$DIR/$name/pid")" 2>/dev/null; then echo "clickhouse $name already running (pid $(cat "$DIR/$name/pid"))"; continue; fi
    config "$name" "$http" "$tcp" "$inter"
    # exec: the recorded PID is the server's own; no shell holds the caller's stdout open.
    (cd "$DIR/$name" && exec nohup clickhouse-server --config-file="$DIR/$name/config.xml" >"$DIR/$name/log/stdout.log" 2>&1 </dev/null) &
    echo $! >"$DIR/$name/pid"
  done
  for n in "${NODES[@]}"; do
    read -r name http _ _ <<<"$n"
    local pid; pid=$(cat "$DIR/$name/pid")
    for _ in $(seq 1 150); do answers "$http" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if ! answers "$http"; then
      if kill -0 "$pid" 2>/dev/null; then why="did not answer on 127.0.0.1:$http within 30 s"; else why="exited before answering on 127.0.0.1:$http (a port in use? see below)"; rm -f "$DIR/$name/pid"; fi
      echo "clickhouse.sh: $name $why; the other nodes keep running until 'bash scripts/clickhouse.sh stop'; its log:" >&2
      tail -n 20 "$DIR/$name/log/error.log" "$DIR/$name/log/stdout.log" >&2 || true
      exit 1
    fi
    echo "clickhouse $name: http://127.0.0.1:$http (pid $(cat "$DIR/$name/pid"))"
  done
}

stop() {
  for n in "${NODES[@]}"; do
    read -r name _ _ _ <<<"$n"
    local f="$DIR/$name/pid"
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    # only a clickhouse-server started with this folder's config: a stale PID file never kills another process
    if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--config-file=$DIR/$name/config.xml"; then
      echo "clickhouse $name: not running (stale pid file $f)"; rm -f "$f"; continue
    fi
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "clickhouse $name stopped (pid $pid)"
    fi
    rm -f "$f"
  done
}

status() {
  for n in "${NODES[@]}"; do
    read -r name http _ _ <<<"$n"
    local pid=""; [ -f "$DIR/$name/pid" ] && pid=" (pid $(cat "$DIR/$name/pid"))"
    if answers "$http"; then echo "clickhouse $name: up on http://127.0.0.1:$http$pid"; else echo "clickhouse $name: down"; down=1; fi
  done
  return "${down:-0}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export COHORTLAB_CLICKHOUSE_URL=http://127.0.0.1:$((28123 + O)) COHORTLAB_CLICKHOUSE_SHARDS_URL=http://127.0.0.1:$((28124 + O))" ;;
  *) echo "usage: bash scripts/clickhouse.sh start|stop|status|env" >&2; exit 2 ;;
esac
