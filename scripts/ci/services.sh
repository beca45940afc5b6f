#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are up for the tests:
# starts them where installed but stopped, and says what to install where missing.
set -euo pipefail

missing=0

if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "postgres: running"
elif [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    echo "postgres: installed but stopped; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432 -q || { echo "postgres: did not come up"; missing=1; }
else
    echo "postgres: NOT INSTALLED. Install it with: apt-get install -y postgresql"
    echo "          (trust auth on 127.0.0.1 for user postgres), or set TEST_DATABASE_URL"
    missing=1
fi

if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "redis: running"
elif command -v redis-server >/dev/null; then
    echo "redis: installed but stopped; starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
    redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG || { echo "redis: did not come up"; missing=1; }
else
    echo "redis: NOT INSTALLED. Install it with: apt-get install -y redis-server"
    missing=1
fi

exit "$missing"
