#!/usr/bin/env bash
# services.sh — real servers for Vitals' integration tests, on loopback only.
#
#   scripts/services.sh start            install (first time) and start all servers; waits until ready
#   scripts/services.sh stop             stop all servers started by this script
#   scripts/services.sh status           one line per server: up / down
#   scripts/services.sh env              print `export VITALS_...=...` lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh start-one NAME   start one server   (NAME: postgres mariadb redis rabbitmq nats mosquitto)
#   scripts/services.sh stop-one NAME    stop one server
#   scripts/services.sh install          only install the Debian packages
#
# `install` (and so `start`) also installs the tools in $VITALS_TOOLS (default: haproxy), which the
# tests run themselves, as their own processes on their own ports (e2e/haproxy_test.go); their
# system services are never started.
#
# Servers come from Debian's packages and run from their own data directories under
# $VITALS_SERVICES_DIR (default /tmp/vitals-services), on 127.0.0.1 and non-default ports, so they
# never clash with a system instance. No systemd is needed. `start` is idempotent and fast when
# everything already runs (it only probes). The connection values printed by `env` are the same
# defaults that internal/testenv uses when the variables are unset.
#
# Environment: VITALS_SERVICES (space-separated subset to start, default all),
# VITALS_SERVICES_DIR (state directory), VITALS_SERVICES_TIMEOUT (seconds to wait for each server to
# become ready, default 90).
set -euo pipefail

DIR=${VITALS_SERVICES_DIR:-/tmp/vitals-services}
TIMEOUT=${VITALS_SERVICES_TIMEOUT:-90}
ALL="postgres mariadb redis rabbitmq nats mosquitto"
SERVICES=${VITALS_SERVICES:-$ALL}
TOOLS=${VITALS_TOOLS-haproxy}

PG_PORT=55432
MYSQL_PORT=53306
REDIS_PORT=56379
AMQP_PORT=55672
AMQP_DIST_PORT=55673
NATS_PORT=54222
MQTT_PORT=51883

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

print_env() {
	cat <<EOF
export VITALS_PG_DSN='postgres://vitals:vitals@127.0.0.1:${PG_PORT}/vitals?sslmode=disable'
export VITALS_MYSQL_DSN='vitals:vitals@tcp(127.0.0.1:${MYSQL_PORT})/vitals'
export VITALS_REDIS_ADDR='127.0.0.1:${REDIS_PORT}'
export VITALS_AMQP_URL='amqp://guest:guest@127.0.0.1:${AMQP_PORT}/'
export VITALS_NATS_URL='nats://127.0.0.1:${NATS_PORT}'
export VITALS_MQTT_ADDR='127.0.0.1:${MQTT_PORT}'
EOF
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for NAME CMD...: run CMD every 0.2 s until it succeeds or TIMEOUT seconds pass.
wait_for() {
	local name=$1; shift
	local deadline=$((SECONDS + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "$name did not become ready within ${TIMEOUT}s; last log lines:"
			tail -n 30 "$DIR/$name/log" 2>/dev/null >&2 || true
			return 1
		fi
		sleep 0.2
	done
}

# pid_alive FILE: true when FILE names a running process.
pid_alive() { [[ -s $1 ]] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

# stop_pid NAME FILE: TERM the process in FILE and wait (bounded) for it to exit, then KILL.
stop_pid() {
	local name=$1 file=$2 pid
	pid_alive "$file" || { rm -f "$file"; return 0; }
	pid=$(head -n1 "$file")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || { rm -f "$file"; return 0; }; sleep 0.1; done
	log "$name (pid $pid) did not stop in 15s: killing"
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$file"
}

# ---------------------------------------------------------------- install

pkg_of() {
	case $1 in
	postgres) echo postgresql ;;
	mariadb) echo mariadb-server ;;
	redis) echo redis-server ;;
	rabbitmq) echo rabbitmq-server ;;
	nats) echo nats-server ;;
	mosquitto) echo mosquitto ;;
	*) die "unknown service $1 (known: $ALL)" ;;
	esac
}

install() {
	local missing=() s p
	for s in $SERVICES; do
		p=$(pkg_of "$s")
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	for p in $TOOLS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) == 0 ]] || die "packages ${missing[*]} are missing and installing them needs root"
	log "installing ${missing[*]}"
	# Keep the packages' init scripts from starting system instances on the default ports.
	local policy_created=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
		policy_created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	[[ -z $policy_created ]] || rm -f /usr/sbin/policy-rc.d
}

# ---------------------------------------------------------------- postgres

pg_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do [[ -d $d ]] && echo "$d"; done | sort -V | tail -n1
}
pg_ready() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }
as_postgres() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
	pg_ready && return 0
	local bin d=$DIR/postgres
	bin=$(pg_bin); [[ -n $bin ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
	mkdir -p "$d"
	[[ $(id -u) != 0 ]] || chown postgres: "$d"
	if [[ ! -s $d/data/PG_VERSION ]]; then
		as_postgres "$bin/initdb" -D "$d/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
			-E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; die "initdb failed"; }
		cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$d'
shared_preload_libraries = 'pg_stat_statements'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
		local fresh=1
	fi
	# A postmaster.pid left by a killed server whose PID now belongs to another process would make
	# postgres refuse to start: remove it unless that PID is a postgres.
	local pidf=$d/data/postmaster.pid
	if [[ -s $pidf ]] && [[ $(cat "/proc/$(head -n1 "$pidf")/comm" 2>/dev/null) != postgres ]]; then
		rm -f "$pidf"
	fi
	touch "$d/log"
	[[ $(id -u) != 0 ]] || chown postgres: "$d/log"
	as_postgres "$bin/pg_ctl" -D "$d/data" -l "$d/log" -w -t "$TIMEOUT" start >/dev/null ||
		{ tail -n 30 "$d/log" >&2; die "postgres did not start"; }
	if [[ -n ${fresh:-} ]]; then
		as_postgres "$bin/psql" -q -h "$d" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'EOF' >/dev/null
CREATE ROLE vitals LOGIN SUPERUSER PASSWORD 'vitals';
CREATE DATABASE vitals OWNER vitals;
\c vitals
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
EOF
	fi
	wait_for postgres pg_ready
}

stop_postgres() {
	local d=$DIR/postgres
	[[ -s $d/data/postmaster.pid ]] || return 0
	as_postgres "$(pg_bin)/pg_ctl" -D "$d/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- mariadb

mysql_sock() { echo "$DIR/mariadb/mysqld.sock"; }
mariadb_ready() { mariadb-admin --no-defaults -S "$(mysql_sock)" -u root ping; }

start_mariadb() {
	local d=$DIR/mariadb
	if mariadb_ready >/dev/null 2>&1; then return 0; fi
	mkdir -p "$d"
	[[ $(id -u) != 0 ]] || chown mysql: "$d"
	local fresh=
	if [[ ! -d $d/data/mysql ]]; then
		mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" --auth-root-authentication-method=socket \
			--skip-test-db >"$d/log" 2>&1 || { cat "$d/log" >&2; die "mariadb-install-db failed"; }
		fresh=1
	fi
	# mariadbd detaches through setsid; its pid file tells stop-one what to end.
	setsid mariadbd --no-defaults --user=mysql --datadir="$d/data" --socket="$(mysql_sock)" \
		--pid-file="$d/mysqld.pid" --port="$MYSQL_PORT" --bind-address=127.0.0.1 --log-error="$d/log" \
		--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 --skip-name-resolve \
		</dev/null >/dev/null 2>&1 &
	wait_for mariadb mariadb_ready
	if [[ -n $fresh ]]; then
		mariadb --no-defaults -S "$(mysql_sock)" -u root <<'EOF'
CREATE DATABASE IF NOT EXISTS vitals;
CREATE USER IF NOT EXISTS 'vitals'@'127.0.0.1' IDENTIFIED BY 'vitals';
CREATE USER IF NOT EXISTS 'vitals'@'localhost' IDENTIFIED BY 'vitals';
GRANT ALL ON *.* TO 'vitals'@'127.0.0.1';
GRANT ALL ON *.* TO 'vitals'@'localhost';
FLUSH PRIVILEGES;
EOF
	fi
}

stop_mariadb() { stop_pid mariadb "$DIR/mariadb/mysqld.pid"; }

# ---------------------------------------------------------------- redis

redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

start_redis() {
	redis_ready && return 0
	local d=$DIR/redis
	mkdir -p "$d"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --pidfile "$d/redis.pid" \
		--dir "$d" --logfile "$d/log" --save '' --appendonly no >/dev/null
	wait_for redis redis_ready
}

stop_redis() { stop_pid redis "$DIR/redis/redis.pid"; }

# ---------------------------------------------------------------- rabbitmq

# RabbitMQ runs as the invoking user (root in CI) with everything under $DIR/rabbitmq; epmd is
# bound to loopback. The node is named vitals@localhost.
rabbit_env() {
	local d=$DIR/rabbitmq
	env HOME="$d" ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME=vitals@localhost \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" RABBITMQ_DIST_PORT="$AMQP_DIST_PORT" \
		RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/logs" RABBITMQ_PID_FILE="$d/rabbitmq.pid" \
		RABBITMQ_CONFIG_FILE="$d/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins" \
		RABBITMQ_LOGS="$d/log" "$@"
}
rabbit_ready() { port_open "$AMQP_PORT" && rabbit_env /usr/lib/rabbitmq/bin/rabbitmqctl -q -t 5 await_startup; }

start_rabbitmq() {
	local d=$DIR/rabbitmq
	if port_open "$AMQP_PORT" && pid_alive "$d/rabbitmq.pid"; then
		wait_for rabbitmq rabbit_ready
		return 0
	fi
	mkdir -p "$d/logs" "$d/mnesia"
	printf 'listeners.tcp.1 = 127.0.0.1:%s\nloopback_users.guest = true\n' "$AMQP_PORT" >"$d/rabbitmq.conf"
	echo '[].' >"$d/enabled_plugins"
	rabbit_env setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >>"$d/log.stdout" 2>&1 &
	# await_startup blocks until the node has booted, bounded by wait_for's deadline.
	wait_for rabbitmq rabbit_ready
}

stop_rabbitmq() {
	local d=$DIR/rabbitmq
	pid_alive "$d/rabbitmq.pid" || return 0
	rabbit_env /usr/lib/rabbitmq/bin/rabbitmqctl -q -t 30 stop "$d/rabbitmq.pid" >/dev/null 2>&1 ||
		stop_pid rabbitmq "$d/rabbitmq.pid"
}

# ---------------------------------------------------------------- nats

start_nats() {
	local d=$DIR/nats
	if pid_alive "$d/nats.pid" && port_open "$NATS_PORT"; then return 0; fi
	mkdir -p "$d"
	setsid nats-server -a 127.0.0.1 -p "$NATS_PORT" -P "$d/nats.pid" -l "$d/log" </dev/null >/dev/null 2>&1 &
	wait_for nats port_open "$NATS_PORT"
}

stop_nats() { stop_pid nats "$DIR/nats/nats.pid"; }

# ---------------------------------------------------------------- mosquitto

start_mosquitto() {
	local d=$DIR/mosquitto
	if pid_alive "$d/mosquitto.pid" && port_open "$MQTT_PORT"; then return 0; fi
	mkdir -p "$d"
	local user
	user=$(id -un)
	if [[ $user == root ]] && id mosquitto >/dev/null 2>&1; then user=mosquitto; chown mosquitto: "$d"; fi
	cat >"$d/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
pid_file $d/mosquitto.pid
log_dest file $d/log
user $user
EOF
	mosquitto -c "$d/mosquitto.conf" -d
	wait_for mosquitto port_open "$MQTT_PORT"
}

stop_mosquitto() { stop_pid mosquitto "$DIR/mosquitto/mosquitto.pid"; }

# ---------------------------------------------------------------- commands

ready_one() {
	case $1 in
	postgres) pg_ready ;;
	mariadb) mariadb_ready ;;
	redis) redis_ready ;;
	rabbitmq) port_open "$AMQP_PORT" && pid_alive "$DIR/rabbitmq/rabbitmq.pid" ;;
	nats) port_open "$NATS_PORT" ;;
	mosquitto) port_open "$MQTT_PORT" ;;
	*) die "unknown service $1 (known: $ALL)" ;;
	esac
}

start_one() {
	local t0=$SECONDS
	"start_$1"
	log "$1 ready ($((SECONDS - t0))s)"
}

cmd=${1:-}
case $cmd in
install) install ;;
start)
	install
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	for s in $SERVICES; do start_one "$s"; done
	;;
stop) for s in $SERVICES; do "stop_$s"; done ;;
start-one)
	[[ -n ${2:-} ]] || die "usage: $0 start-one NAME"
	pkg_of "$2" >/dev/null
	SERVICES=$2 TOOLS= install
	mkdir -p "$DIR"
	start_one "$2"
	;;
stop-one)
	[[ -n ${2:-} ]] || die "usage: $0 stop-one NAME"
	pkg_of "$2" >/dev/null
	"stop_$2"
	;;
status)
	rc=0
	for s in $SERVICES; do
		if ready_one "$s" >/dev/null 2>&1; then echo "$s up"; else echo "$s down"; rc=1; fi
	done
	exit $rc
	;;
env) print_env ;;
*)
	sed -n '2,20p' "$0" >&2
	exit 2
	;;
esac
