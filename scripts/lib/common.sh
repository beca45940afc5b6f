# The shell pieces every script shares: free loopback ports, processes started in their own
# process group and stopped on exit, and readiness waits. Source it; `start` and `wait_http`
# write and read logs under $WORK.

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

PIDS=()

# start NAME CMD...: runs CMD in its own process group, output to $WORK/NAME.log; stop_all
# ends it and everything it started.
start() {
    local name=$1; shift
    setsid "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
}

# stop_all: TERM to every process group `start` made, then KILL to what is left.
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${PIDS[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    PIDS=()
}

# stop_pid PID: TERM, up to 5 s for it to exit (in-flight work finishes), then KILL.
stop_pid() {
    local pid=$1
    [[ -n $pid ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# wait_http NAME URL SECONDS: polls until URL answers 2xx; on time-out prints the end of
# $WORK/NAME.log and fails.
wait_http() {
    local name=$1 url=$2 secs=$3 i
    for ((i = 0; i < secs * 4; i++)); do
        if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.25
    done
    echo "error: $name did not become ready at $url within ${secs}s; last log lines:" >&2
    tail -n 40 "$WORK/$name.log" >&2 || true
    return 1
}
