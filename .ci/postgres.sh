#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the server tests: Debian's `postgresql` (installed when
# missing and we are root), initdb in a temp dir, a free loopback port. Prints
# "URL DATA_DIR" (stop it with `pg_ctl -D DATA_DIR stop`); exits 1 when it cannot.
set -euo pipefail
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin=$(pgbin)
if [ -z "$bin" ] && [ "$(id -u)" = 0 ]; then
  apt-get install -y -q postgresql >/dev/null 2>&1 || exit 1
  bin=$(pgbin)
fi
[ -n "$bin" ] || exit 1
dir=$(mktemp -d /tmp/gluebench-pg.XXXXXX)
port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_owner "$bin/initdb -D $dir/data -A trust -U gluebench >/dev/null"
as_owner "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1' start >/dev/null"
as_owner "$bin/createdb -h 127.0.0.1 -p $port -U gluebench gluebench"
echo "postgresql://gluebench@127.0.0.1:$port/gluebench $dir/data"
