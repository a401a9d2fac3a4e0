#!/usr/bin/env bash
# sql/devdb.sh: make sure a PostgreSQL answers for the e-commerce pipeline and
# its tests, then print the environment to use it (eval "$(sql/devdb.sh env)").
#
#   sql/devdb.sh up      get a server, create role data_user and database
#                        ecommerce_database, apply sql/postgres_setup.sql
#   sql/devdb.sh env     like up, then print DATABASE_URL and ETL_TEST_DATABASE_URL
#   sql/devdb.sh down    stop the throwaway cluster, if this script started one
#
# Where the server comes from, first that works:
#   1. $DATABASE_URL when set (used as is; ETL_TEST_DATABASE_URL defaults to it);
#   2. a server already answering on 127.0.0.1:${PGPORT:-5432};
#   3. Docker Compose's postgres service, when a Docker engine answers;
#   4. a throwaway cluster in .pgdata/ (git-ignored) on 127.0.0.1:${DEVDB_PORT:-55432},
#      from the PostgreSQL binaries on this machine, installing Debian's
#      postgresql package first when they are missing and we are root.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PGDATA_DIR=$ROOT/.pgdata
PORT=${DEVDB_PORT:-55432}
say() { echo "devdb: $*" >&2; }

pg_bin() {
	local b
	for b in "$(command -v pg_ctl 2>/dev/null || true)" /usr/lib/postgresql/*/bin/pg_ctl; do
		if [[ -n "$b" && -x "$b" ]]; then dirname "$b"; return 0; fi
	done
	return 1
}

answers() { # answers HOST PORT
	if command -v pg_isready >/dev/null; then
		pg_isready -q -h "$1" -p "$2" -t 2
	else
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
	fi
}

install_postgres() {
	if [[ $(id -u) != 0 ]]; then
		say "no PostgreSQL binaries found; install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL"
		exit 1
	fi
	say "installing Debian's postgresql package"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq postgresql >/dev/null
}

as_owner() { # run a command as the owner of the throwaway cluster
	if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

throwaway_cluster() {
	local bin
	bin=$(pg_bin) || { install_postgres; bin=$(pg_bin); }
	if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
		say "creating a throwaway cluster in $PGDATA_DIR"
		mkdir -p "$PGDATA_DIR"
		[[ $(id -u) == 0 ]] && chown postgres "$PGDATA_DIR"
		as_owner "$bin/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 >/dev/null
	fi
	if ! answers 127.0.0.1 "$PORT"; then
		say "starting it on 127.0.0.1:$PORT"
		as_owner "$bin/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -w -t 60 \
			-o "-h 127.0.0.1 -p $PORT -k /tmp -c fsync=on" start >/dev/null
	fi
	ADMIN_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
}

compose_up() {
	command -v docker >/dev/null && docker info >/dev/null 2>&1 || return 1
	say "starting Docker Compose's postgres"
	docker compose up -d --wait postgres >&2 || return 1
	local port=${POSTGRES_PORT:-5432}
	ADMIN_URL="postgres://${POSTGRES_USER:-postgres}:${POSTGRES_PASSWORD:-postgres}@127.0.0.1:$port/postgres?sslmode=disable"
}

find_server() {
	if [[ -n ${DATABASE_URL:-} ]]; then
		ADMIN_URL=$DATABASE_URL
		return
	fi
	local port=${PGPORT:-5432}
	if answers 127.0.0.1 "$port"; then
		ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
		return
	fi
	compose_up && return
	throwaway_cluster
}

# psql_url URL ARGS...: run psql, installing the client when missing.
psql_url() {
	local url=$1; shift
	if ! command -v psql >/dev/null; then
		local bin; bin=$(pg_bin) || { install_postgres; bin=$(pg_bin); }
		PATH=$bin:$PATH
	fi
	psql "$url" -v ON_ERROR_STOP=1 -q "$@"
}

with_db() { # with_db URL DBNAME: the URL with its database replaced
	local url=$1 db=$2
	echo "$url" | sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$db#"
}

setup_database() {
	if [[ -n ${DATABASE_URL:-} ]]; then
		say "using DATABASE_URL as given; applying sql/postgres_setup.sql"
		psql_url "$DATABASE_URL" -f sql/postgres_setup.sql >/dev/null
		APP_URL=$DATABASE_URL
		return
	fi
	psql_url "$ADMIN_URL" <<-'SQL' >/dev/null
		DO $$ BEGIN
		  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'data_user') THEN
		    CREATE ROLE data_user LOGIN;
		  END IF;
		END $$;
	SQL
	if [[ $(psql_url "$ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'ecommerce_database'") != 1 ]]; then
		psql_url "$ADMIN_URL" -c "CREATE DATABASE ecommerce_database OWNER data_user" >/dev/null
	fi
	APP_URL=$(with_db "$ADMIN_URL" ecommerce_database | sed -E 's#://[^@/]*@#://data_user@#')
	psql_url "$APP_URL" -f sql/postgres_setup.sql >/dev/null
	say "database ecommerce_database ready for data_user"
}

case ${1:-up} in
up)
	find_server
	setup_database
	;;
env)
	find_server
	setup_database
	echo "export DATABASE_URL='$APP_URL'"
	echo "export ETL_TEST_DATABASE_URL='${ETL_TEST_DATABASE_URL:-$ADMIN_URL}'"
	;;
down)
	if [[ -f $PGDATA_DIR/postmaster.pid ]]; then
		as_owner "$(pg_bin)/pg_ctl" -D "$PGDATA_DIR" -m fast stop >/dev/null
		say "stopped the throwaway cluster"
	fi
	;;
*)
	echo "usage: sql/devdb.sh [up|env|down]" >&2
	exit 2
	;;
esac
