# Sourced by the docker provider's tests: start a private container engine
# (Docker Engine, Podman, or Docker Engine with gVisor's runsc) serving the
# Docker API on a unix socket in a temporary run directory, build the test
# images there without a registry, talk to it with curl, and stop it
# leaving nothing behind.  See tests/docker/README.md.
#
#   . "$top_srcdir/tests/docker/engine.sh"
#   engine_skip_unless_available docker    # exit 77 with the reason if not
#   trap engine_stop EXIT
#   trap 'exit 130' INT TERM
#   engine_start docker                    # or podman, docker-runsc
#   engine_images                          # csdk-test/busybox, csdk-test/hostusr
#   id=$(engine_run csdk-test/busybox '["sleep","600"]')
#   out=$(engine_exec "$id" '["echo","hi"]')   # status: the command's exit code
#
# engine_start exports ENGINE_NAME, ENGINE_RUNDIR, ENGINE_SOCK, ENGINE_HOST
# (unix://$ENGINE_SOCK), ENGINE_API (the daemon's API version, "1.41"),
# ENGINE_RUNTIME ("runsc" for docker-runsc, else empty), ENGINE_PID and
# ENGINE_START_MS.  They are also written to $ENGINE_RUNDIR/engine.env, so
# engine_use RUNDIR switches back to an engine when a script runs several.
# engine_stop sets ENGINE_STOP_MS, engine_images ENGINE_IMAGES_MS.
#
# Functions (each documented where it is defined):
#   engine_skip_unless_available [ENGINE...]   exit 77 + reason if unusable
#   engine_start ENGINE, engine_use RUNDIR, engine_stop [RUNDIR...]
#   engine_images, engine_import DIR REPO [CHANGE...]
#   engine_api METHOD PATH [CURL_ARGS...]      a request, body on stdout
#   engine_run IMAGE CMD_JSON [HOSTCONFIG [CONFIG]]   create + start, the id
#   engine_exec ID CMD_JSON [EXEC_CONFIG]      run, demultiplexed, exit code
#   engine_rm ID, engine_container_pid ID
#   engine_cli ARGS...                         docker/podman CLI on the engine
#   engine_pids_in RUNDIR, engine_mounts_in RUNDIR   what is left of one
#   engine_urlencode STRING
#
# shellcheck shell=sh disable=SC3043
# POSIX sh plus `local`; needs curl, tar, od, awk, and GNU date (%N).
# Every engine runs as root with its state in its run directory: two
# engines of any kind can run side by side, but scripts take turns
# (_engine_take_turn) so that make check's parallel tests do not overload
# the machine.  The engines never inherit the turn's lock (fd 9).
# No engine ever creates a network bridge: dockerd runs with --bridge=none,
# podman with netns "none", and engine_run uses NetworkMode "none".

# Run directories this shell started, for engine_stop without arguments.
_engine_started=

_engine_ms() {
    date +%s%N | cut -c1-13
}

_engine_log() {
    echo "# engine: $*" >&2
}

# engine_skip_unless_available [docker|podman|docker-runsc ...]
# Exit 77 (skip) with the precise reason when this machine cannot run the
# named engines (default: docker and podman): not root, or a program the
# engine or engine_images needs is missing.
engine_skip_unless_available() {
    local e p progs pkg missing why
    [ $# -gt 0 ] || set -- docker podman
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: the container engines run as root here and this test runs as uid $(id -u)"
        exit 77
    fi
    missing=
    for p in curl tar od awk; do
        command -v "$p" >/dev/null 2>&1 || missing="$missing $p (apt-get install $p),"
    done
    for e in "$@"; do
        case $e in
        docker) progs="dockerd containerd containerd-shim-runc-v2 runc" ;;
        docker-runsc) progs="dockerd containerd containerd-shim-runc-v2 runsc" ;;
        podman) progs="podman conmon" ;;
        *)
            echo "engine_skip_unless_available: unknown engine '$e'" >&2
            exit 1
            ;;
        esac
        if [ "$e" = podman ] && ! command -v runc >/dev/null 2>&1 &&
            ! command -v crun >/dev/null 2>&1; then
            progs="$progs runc"
        fi
        for p in $progs; do
            command -v "$p" >/dev/null 2>&1 && continue
            case $p in
            dockerd) pkg=docker.io ;;
            containerd*) pkg=containerd ;;
            *) pkg=$p ;;
            esac
            missing="$missing $e needs $p (apt-get install $pkg),"
        done
    done
    if [ -n "$missing" ]; then
        missing=${missing%,}
        echo "SKIP: not installed:$missing"
        exit 77
    fi
    why=$(_engine_busybox_check) || {
        echo "SKIP: $why"
        exit 77
    }
}

# The static busybox engine_images copies into csdk-test/busybox.
_engine_busybox() {
    echo "${ENGINE_BUSYBOX:-/bin/busybox}"
}

_engine_busybox_check() {
    local bb
    bb=$(_engine_busybox)
    [ -x "$bb" ] || {
        echo "no busybox at $bb (apt-get install busybox-static)"
        return 1
    }
    # A dynamically linked busybox (Debian's "busybox" package) cannot run
    # in an image holding nothing else.
    if command -v ldd >/dev/null 2>&1 && ldd "$bb" >/dev/null 2>&1; then
        echo "$bb is dynamically linked; the test image needs a static one (apt-get install busybox-static)"
        return 1
    fi
    return 0
}

# A run directory whose unix socket paths fit in sun_path (108 bytes; the
# longest is exec/containerd/containerd.sock.ttrpc).
_engine_mkrundir() {
    local base dir
    base=${TMPDIR:-/tmp}
    if [ ${#base} -gt 50 ]; then
        _engine_log "TMPDIR is too long for unix socket paths; using /tmp"
        base=/tmp
    fi
    dir=$(mktemp -d "$base/csdk-engine.XXXXXX") || return 1
    chmod 711 "$dir"
    echo "$dir"
}

# Scripts that start engines take turns (the first engine_start of a
# script waits for the lock; the script's exit releases it): an engine
# with its containers is a heavy load, and two or three at once on a
# 2-core machine make the timing cases of the suites they run miss.
# Engines of one script still run side by side.
_engine_take_turn() {
    [ -z "${_engine_turn:-}" ] || return 0
    _engine_turn=1
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"${TMPDIR:-/tmp}/csdk-engine-tests.lock" || return 0
    flock 9
}

# engine_start docker|podman|docker-runsc
engine_start() {
    local name rd sock pid t0 t1 api
    name=$1
    case $name in
    docker | docker-runsc | podman) ;;
    *)
        echo "engine_start: unknown engine '$name' (docker, podman, docker-runsc)" >&2
        return 2
        ;;
    esac
    _engine_take_turn
    rd=$(_engine_mkrundir) || return 1
    _engine_started="$_engine_started $rd"
    sock=$rd/$name.sock
    {
        echo "ENGINE_NAME='$name'"
        echo "ENGINE_RUNDIR='$rd'"
        echo "ENGINE_SOCK='$sock'"
    } >"$rd/engine.env"
    t0=$(_engine_ms)
    case $name in
    docker | docker-runsc) _engine_start_docker "$name" "$rd" "$sock" || {
        engine_stop "$rd"
        return 1
    } ;;
    podman) _engine_start_podman "$rd" "$sock" || {
        engine_stop "$rd"
        return 1
    } ;;
    esac
    pid=$(cat "$rd/engine.pid")
    # Ready when GET /_ping answers; give up after 30 s.
    while :; do
        if [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]; then
            break
        fi
        t1=$(_engine_ms)
        if _engine_gone "$pid" || [ $((t1 - t0)) -gt 30000 ]; then
            if ! _engine_gone "$pid"; then
                echo "engine_start: $name did not answer /_ping on $sock within 30 s" >&2
            else
                echo "engine_start: $name exited before answering /_ping" >&2
            fi
            _engine_logtail "$rd" >&2
            engine_stop "$rd"
            return 1
        fi
        sleep 0.05
    done
    t1=$(_engine_ms)
    api=$(curl -s --max-time 10 --unix-socket "$sock" http://localhost/version |
        _engine_json_get ApiVersion)
    [ -n "$api" ] || api=1.41
    {
        echo "ENGINE_PID='$pid'"
        echo "ENGINE_API='$api'"
        echo "ENGINE_START_MS='$((t1 - t0))'"
        if [ "$name" = docker-runsc ]; then
            echo "ENGINE_RUNTIME='runsc'"
        else
            echo "ENGINE_RUNTIME=''"
        fi
    } >>"$rd/engine.env"
    engine_use "$rd"
    _engine_log "$name ready in ${ENGINE_START_MS} ms (API $ENGINE_API) at $ENGINE_SOCK"
}

# engine_use RUNDIR: make an engine started earlier the current one.
engine_use() {
    [ -f "$1/engine.env" ] || {
        echo "engine_use: no engine in $1" >&2
        return 1
    }
    . "$1/engine.env"
    ENGINE_HOST=unix://$ENGINE_SOCK
    export ENGINE_NAME ENGINE_RUNDIR ENGINE_SOCK ENGINE_HOST ENGINE_PID \
        ENGINE_API ENGINE_START_MS ENGINE_RUNTIME
}

_engine_logtail() {
    local f
    for f in "$1"/*.log; do
        [ -f "$f" ] || continue
        echo "--- last lines of $f"
        tail -n 25 "$f"
    done
}

# dockerd with a containerd of its own in the run directory (see README:
# dockerd would otherwise adopt any containerd listening on the machine's
# default socket, and its self-managed containerd makes every stop take
# 2.5 s).
_engine_start_docker() {
    local name rd sock
    name=$1 rd=$2 sock=$3
    mkdir -p "$rd/data/containerd" "$rd/exec/containerd" || return 1
    cat >"$rd/containerd.toml" <<EOF
version = 2
root = "$rd/data/containerd/daemon"
state = "$rd/exec/containerd/daemon"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
oom_score = 0

[grpc]
  address = "$rd/exec/containerd/containerd.sock"

[debug]
  address = "$rd/exec/containerd/containerd-debug.sock"
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$rd/data/containerd/opt"
EOF
    if [ "$name" = docker-runsc ]; then
        # runsc's own network stack would want interfaces to copy: with
        # NetworkMode none there are none and start fails (and leaks)
        # unless it runs with --network=none.
        cat >"$rd/daemon.json" <<EOF
{
  "runtimes": {
    "runsc": {
      "path": "$(command -v runsc)",
      "runtimeArgs": ["--network=none"]
    }
  }
}
EOF
    else
        echo '{}' >"$rd/daemon.json"
    fi
    containerd --config "$rd/containerd.toml" \
        </dev/null >"$rd/containerd.log" 2>&1 9>&- &
    echo $! >"$rd/containerd.pid"
    # Wait for containerd's socket so that dockerd never sees it missing.
    local i=0
    while [ ! -S "$rd/exec/containerd/containerd.sock" ]; do
        ! _engine_gone "$(cat "$rd/containerd.pid")" || {
            echo "engine_start: containerd exited" >&2
            _engine_logtail "$rd" >&2
            return 1
        }
        i=$((i + 1))
        [ $i -lt 600 ] || {
            echo "engine_start: containerd did not listen within 30 s" >&2
            _engine_logtail "$rd" >&2
            return 1
        }
        sleep 0.05
    done
    dockerd --config-file "$rd/daemon.json" \
        --containerd "$rd/exec/containerd/containerd.sock" \
        --storage-driver=overlay2 \
        --iptables=false --ip6tables=false --bridge=none \
        --data-root "$rd/data" --exec-root "$rd/exec" \
        --pidfile "$rd/docker.pid" \
        -H "unix://$sock" </dev/null >"$rd/dockerd.log" 2>&1 9>&- &
    echo $! >"$rd/engine.pid"
}

# _engine_podman RUNDIR [timeout SECONDS] ARGS...: podman with that run
# directory's configuration.
_engine_podman() {
    local rd
    rd=$1
    shift
    CONTAINERS_CONF=$rd/containers.conf CONTAINERS_STORAGE_CONF=$rd/storage.conf \
        TMPDIR=$rd/imgtmp "$@"
}

_engine_start_podman() {
    local rd sock
    rd=$1 sock=$2
    mkdir -p "$rd/storage" "$rd/run" "$rd/tmp" "$rd/imgtmp" "$rd/networks" || return 1
    # default_ulimits: root lacks CAP_SYS_RESOURCE here and podman's
    # default nofile (1048576) cannot be set ("error setting rlimit type 7").
    # tmp_dir and lock_type "file": podman's per-boot state and its locks
    # stay in the run directory; the default SHM lock segment
    # (/dev/shm/libpod_lock) is shared by every podman on the machine.
    cat >"$rd/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$rd/tmp"
lock_type = "file"
image_copy_tmp_dir = "$rd/imgtmp"

[network]
network_config_dir = "$rd/networks"
EOF
    cat >"$rd/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$rd/storage"
runroot = "$rd/run"
EOF
    # A simple command, so that $! is podman itself (not a subshell).
    CONTAINERS_CONF=$rd/containers.conf CONTAINERS_STORAGE_CONF=$rd/storage.conf \
        TMPDIR=$rd/imgtmp podman system service --time=0 "unix://$sock" \
        </dev/null >"$rd/podman.log" 2>&1 9>&- &
    echo $! >"$rd/engine.pid"
}

# engine_cli ARGS...: the engine's own command line client, aimed at the
# current engine (the CLIs otherwise talk to the machine's default socket).
engine_cli() {
    case $ENGINE_NAME in
    podman) _engine_podman "$ENGINE_RUNDIR" podman "$@" ;;
    *) docker -H "$ENGINE_HOST" "$@" ;;
    esac
}

# Whether the command line of process $1 names run directory $2.
_engine_pid_in() {
    local cmd
    cmd=$(tr '\000' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
    case "$cmd " in
    *"$2/"* | *"$2 "*) return 0 ;;
    esac
    return 1
}

# Pids of processes whose command line names run directory $1.
engine_pids_in() {
    local f pid
    # grep narrows the scan (its own command line matches too, but it has
    # exited by the time each candidate is checked).
    # shellcheck disable=SC2013 # /proc/N/cmdline: no spaces
    for f in $(grep -laF -- "$1" /proc/[0-9]*/cmdline 2>/dev/null); do
        pid=${f#/proc/}
        pid=${pid%/cmdline}
        [ "$pid" != $$ ] || continue
        _engine_pid_in "$pid" "$1" && echo "$pid"
    done
    return 0
}

# Mount points under run directory $1, deepest first.
engine_mounts_in() {
    awk -v d="$1/" '{
        m = $5
        while (match(m, /\\[0-7][0-7][0-7]/)) {
            c = substr(m, RSTART + 1, 3)
            v = (substr(c, 1, 1) * 64) + (substr(c, 2, 1) * 8) + substr(c, 3, 1)
            m = substr(m, 1, RSTART - 1) sprintf("%c", v) substr(m, RSTART + 4)
        }
        if (index(m, d) == 1) print length(m) " " m
    }' /proc/self/mountinfo | sort -rn | cut -d' ' -f2-
}

# Whether pid $1 has ended (gone, or a zombie not yet reaped).
_engine_gone() {
    case $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) in
    Z | "") return 0 ;;
    esac
    return 1
}

# TERM pid $1 if it still names run directory $2; KILL after $3 seconds.
_engine_term() {
    local pid rd n
    pid=$1 rd=$2 n=$(($3 * 20))
    [ -n "$pid" ] || return 0
    if _engine_pid_in "$pid" "$rd" && kill -TERM "$pid" 2>/dev/null; then
        while [ $n -gt 0 ] && ! _engine_gone "$pid"; do
            sleep 0.05
            n=$((n - 1))
        done
        if ! _engine_gone "$pid" && _engine_pid_in "$pid" "$rd"; then
            _engine_log "pid $pid did not stop within $3 s of TERM: KILL"
            kill -KILL "$pid" 2>/dev/null || :
            n=100
            while [ $n -gt 0 ] && ! _engine_gone "$pid"; do
                sleep 0.05
                n=$((n - 1))
            done
        fi
    fi
    # Reap it if it was a child of this shell; never wait for a live one.
    if _engine_gone "$pid"; then
        wait "$pid" 2>/dev/null || :
    fi
    return 0
}

# engine_stop [RUNDIR...]: stop the engines in these run directories (by
# default every engine this shell started), kill whatever is left running
# from them, unmount what is left mounted under them and remove them.
# Safe from an EXIT trap and when called twice.
engine_stop() {
    local rd
    # shellcheck disable=SC2086 # a list of mktemp paths
    [ $# -gt 0 ] || set -- $_engine_started
    for rd in "$@"; do
        _engine_stop_one "$rd"
    done
    return 0
}

_engine_stop_one() {
    local rd name sock pid t0 ids id rt root left m n shims
    rd=$1
    [ -n "$rd" ] && [ -d "$rd" ] || return 0
    t0=$(_engine_ms)
    name=$(sed -n "s/^ENGINE_NAME='\(.*\)'$/\1/p" "$rd/engine.env" 2>/dev/null)
    sock=$rd/$name.sock
    # containerd's shims listen on /run/containerd/s/<sha256 of address,
    # namespace, id>, outside the run directory: a shim that had to be
    # killed leaves its socket there.
    shims=
    for id in "$rd"/exec/containerd/daemon/io.containerd.runtime.v2.task/*/*; do
        [ -d "$id" ] || continue
        shims="$shims $(printf '%s' "$rd/exec/containerd/containerd.sock/${id#"$rd"/exec/containerd/daemon/io.containerd.runtime.v2.task/}" |
            sha256sum 2>/dev/null | cut -d' ' -f1)"
    done
    # 1. Remove every container through the API while the engine runs:
    #    dockerd would otherwise stop each with its 10 s stop timeout.
    if [ -S "$sock" ] && curl -s --max-time 2 --unix-socket "$sock" \
        http://localhost/_ping >/dev/null 2>&1; then
        ids=$(curl -s --max-time 30 --unix-socket "$sock" \
            'http://localhost/containers/json?all=1' |
            grep -o '"Id": *"[0-9a-f]*"' | sed 's/.*"\([0-9a-f]*\)"$/\1/')
        for id in $ids; do
            curl -s --max-time 30 --unix-socket "$sock" -X DELETE \
                "http://localhost/containers/$id?force=1&v=1" >/dev/null 2>&1 || :
        done
    fi
    # 2. The engine itself.
    pid=$(cat "$rd/engine.pid" 2>/dev/null)
    _engine_term "$pid" "$rd" 10
    # 3. Whatever the engine could not remove.
    case $name in
    podman)
        _engine_podman "$rd" timeout 60 podman rm -af -t 0 >/dev/null 2>&1 || :
        ;;
    docker | docker-runsc)
        root=$rd/exec/runtime-runc/moby
        if [ -d "$root" ]; then
            for rt in runc runsc; do
                command -v $rt >/dev/null 2>&1 || continue
                for id in $($rt --root "$root" list --quiet 2>/dev/null); do
                    $rt --root "$root" kill "$id" KILL >/dev/null 2>&1 || :
                    $rt --root "$root" delete --force "$id" >/dev/null 2>&1 || :
                done
            done
        fi
        _engine_term "$(cat "$rd/containerd.pid" 2>/dev/null)" "$rd" 10
        ;;
    esac
    # 4. Processes still naming the run directory (podman's exec conmons
    #    live 5 minutes; shims of a killed containerd).
    left=$(engine_pids_in "$rd")
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086 # a list of pids
        kill -TERM $left 2>/dev/null || :
        n=40
        while [ -n "$left" ] && [ $n -gt 0 ]; do
            sleep 0.05
            n=$((n - 1))
            left=$(engine_pids_in "$rd")
        done
        if [ -n "$left" ]; then
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null || :
            sleep 0.1
        fi
    fi
    for id in $shims; do
        [ ! -S "/run/containerd/s/$id" ] || rm -f "/run/containerd/s/$id" || :
    done
    # 5. Mounts, deepest first.
    engine_mounts_in "$rd" | while IFS= read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
            _engine_log "cannot unmount $m"
    done
    rm -rf "$rd" 2>/dev/null || {
        # Files an engine made immutable or a mount that came back.
        chattr -R -i "$rd" 2>/dev/null || :
        rm -rf "$rd" 2>/dev/null || :
    }
    [ ! -e "$rd" ] || _engine_log "could not remove $rd"
    ENGINE_STOP_MS=$(($(_engine_ms) - t0))
    _engine_log "${name:-engine} in $rd stopped in $ENGINE_STOP_MS ms"
    if [ "${ENGINE_RUNDIR:-}" = "$rd" ]; then
        unset ENGINE_NAME ENGINE_RUNDIR ENGINE_SOCK ENGINE_HOST ENGINE_PID \
            ENGINE_API ENGINE_START_MS ENGINE_RUNTIME
    fi
    return 0
}

# ---------------------------------------------------------------- the API

# engine_api METHOD PATH [curl arguments...]: a request to the current
# engine (PATH without the version prefix, e.g. /containers/json).  The
# body goes to standard output as it comes (binary-safe); on an HTTP error
# the status is 22 and the body (the engine's message) is still printed.
engine_api() {
    local method path
    method=$1 path=$2
    shift 2
    curl -sS --max-time "${ENGINE_API_TIMEOUT:-120}" \
        --unix-socket "$ENGINE_SOCK" -X "$method" --fail-with-body \
        "$@" "http://localhost/v$ENGINE_API$path"
}

# _engine_call VAR METHOD PATH [curl arguments...]: engine_api with the body
# in VAR; on failure says so on stderr, with the engine's message.
_engine_call() {
    local _v _r _st
    _v=$1
    shift
    _r=$(engine_api "$@")
    _st=$?
    eval "$_v=\$_r"
    if [ $_st -ne 0 ]; then
        echo "engine_api $1 $2 failed (curl status $_st): $_r" >&2
    fi
    return $_st
}

# _engine_json_get KEY < json: the first value of "KEY" (a string
# unquoted, or a number / true / false / null), empty when absent.
_engine_json_get() {
    awk -v k="\"$1\":" '
    { s = s $0 }
    END {
        i = index(s, k)
        if (!i) exit
        s = substr(s, i + length(k))
        sub(/^[ \t]*/, "", s)
        if (substr(s, 1, 1) == "\"") {
            s = substr(s, 2)
            out = ""
            while (length(s)) {
                c = substr(s, 1, 1)
                if (c == "\\") { out = out substr(s, 2, 1); s = substr(s, 3); continue }
                if (c == "\"") break
                out = out c
                s = substr(s, 2)
            }
            print out
        } else {
            match(s, /^[^,}\] \t]*/)
            print substr(s, 1, RLENGTH)
        }
    }'
}

# engine_urlencode STRING
engine_urlencode() {
    printf '%s' "$1" | od -An -v -tu1 | awk '
    { for (i = 1; i <= NF; i++) {
        c = $i + 0
        if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
            c == 45 || c == 46 || c == 95 || c == 126)
            printf "%c", c
        else
            printf "%%%02X", c
    } }'
}

# engine_run IMAGE CMD_JSON [HOSTCONFIG_MEMBERS [CONFIG_MEMBERS]]
# Create and start a container with NetworkMode "none" (and the runsc
# runtime on docker-runsc); print its id.  HOSTCONFIG_MEMBERS are extra
# HostConfig members, e.g. '"Binds":["/usr:/usr:ro"]'; CONFIG_MEMBERS extra
# top-level members, e.g. '"WorkingDir":"/workspace"'.
engine_run() {
    local image cmd hc cfg body resp id
    image=$1 cmd=$2 hc=${3:-} cfg=${4:-}
    hc="\"NetworkMode\":\"none\"${hc:+,$hc}"
    [ -z "$ENGINE_RUNTIME" ] || hc="$hc,\"Runtime\":\"$ENGINE_RUNTIME\""
    body="{\"Image\":\"$image\",\"Cmd\":$cmd,${cfg:+$cfg,}\"HostConfig\":{$hc}}"
    _engine_call resp POST /containers/create \
        -H 'Content-Type: application/json' -d "$body" || return 1
    id=$(printf '%s' "$resp" | _engine_json_get Id)
    [ -n "$id" ] || {
        echo "engine_run: no container id in: $resp" >&2
        return 1
    }
    _engine_call resp POST "/containers/$id/start" || {
        engine_rm "$id"
        return 1
    }
    echo "$id"
}

# engine_rm ID: remove a container, running or not.
engine_rm() {
    local resp
    _engine_call resp DELETE "/containers/$1?force=1&v=1"
}

# engine_container_pid ID: the pid (on this machine) of its first process.
engine_container_pid() {
    local resp
    _engine_call resp GET "/containers/$1/json" || return 1
    printf '%s' "$resp" | _engine_json_get Pid
}

# _engine_demux FILE: split a multiplexed attach stream (8-byte headers:
# stream, 0, 0, 0, big-endian length) into stdout and stderr.  For text.
_engine_demux() {
    od -An -v -tu1 "$1" | LC_ALL=C awk '
    BEGIN { need = 8; hdr = 1; n = 0 }
    { for (i = 1; i <= NF; i++) {
        b = $i + 0
        if (hdr) {
            h[n++] = b
            if (n == 8) {
                stream = h[0]
                need = ((h[4] * 256 + h[5]) * 256 + h[6]) * 256 + h[7]
                hdr = need == 0
                n = 0
            }
        } else {
            if (stream == 2) printf "%c", b > "/dev/stderr"
            else printf "%c", b
            if (--need == 0) hdr = 1
        }
    } }'
}

# engine_exec ID CMD_JSON [EXEC_CONFIG_MEMBERS]: run a command in a running
# container through POST /containers/ID/exec and /exec/ID/start; its
# stdout and stderr go to ours and the status is its exit code (125 when
# the exec itself failed).
engine_exec() {
    local cid cmd extra resp eid out code n
    cid=$1 cmd=$2 extra=${3:-}
    _engine_call resp POST "/containers/$cid/exec" \
        -H 'Content-Type: application/json' \
        -d "{\"Cmd\":$cmd,\"AttachStdout\":true,\"AttachStderr\":true${extra:+,$extra}}" ||
        return 125
    eid=$(printf '%s' "$resp" | _engine_json_get Id)
    [ -n "$eid" ] || return 125
    out=$ENGINE_RUNDIR/exec.$$.$eid
    if ! engine_api POST "/exec/$eid/start" -H 'Content-Type: application/json' \
        -d '{"Detach":false,"Tty":false}' >"$out"; then
        cat "$out" >&2
        rm -f "$out"
        return 125
    fi
    _engine_demux "$out"
    rm -f "$out"
    n=0
    while :; do
        _engine_call resp GET "/exec/$eid/json" || return 125
        code=$(printf '%s' "$resp" | awk '
            { s = s $0 }
            END {
                if (s ~ /"Running":[ ]*true/) { print "running"; exit }
                if (match(s, /"ExitCode":[ ]*-?[0-9]+/)) {
                    v = substr(s, RSTART, RLENGTH); sub(/.*:[ ]*/, "", v); print v
                }
            }')
        case $code in
        running | "") ;;
        *) return "$code" ;;
        esac
        n=$((n + 1))
        [ $n -lt 100 ] || return 125
        sleep 0.05
    done
}

# ------------------------------------------------------------- the images

# engine_images: build csdk-test/busybox and csdk-test/hostusr from local
# files and import them into the current engine (POST /images/create with
# fromSrc=-: no registry).
#   csdk-test/busybox  static busybox in /bin with its applets, PATH=/bin,
#                      plus /tmp, /workspace, /root, etc/passwd, etc/group
#   csdk-test/hostusr  only bin, lib, lib64, sbin -> usr/..., etc/passwd,
#                      etc/group, /tmp, /workspace, /root; run it with
#                      HostConfig.Binds ["/usr:/usr:ro"] for the machine's
#                      /usr/bin/python3, /usr/bin/node, coreutils...
engine_images() {
    local t0 dir bb a
    t0=$(_engine_ms)
    dir=$ENGINE_RUNDIR/images
    rm -rf "$dir"
    mkdir -p "$dir/busybox/bin" "$dir/hostusr" || return 1
    bb=$(_engine_busybox)
    cp "$bb" "$dir/busybox/bin/busybox" || return 1
    # One symlink per applet (busybox itself excluded); perl (essential on
    # Debian) makes the ~270 of them in one process.
    if command -v perl >/dev/null 2>&1; then
        # shellcheck disable=SC2046
        perl -e 'chdir shift or die; for (@ARGV) { next if $_ eq "busybox";
            symlink("busybox", $_) or die "$_: $!\n" }' \
            "$dir/busybox/bin" $("$bb" --list) || return 1
    else
        for a in $("$bb" --list); do
            [ "$a" = busybox ] || ln -s busybox "$dir/busybox/bin/$a"
        done
    fi
    _engine_skeleton "$dir/busybox" /bin/sh
    ln -s usr/bin "$dir/hostusr/bin"
    ln -s usr/lib "$dir/hostusr/lib"
    ln -s usr/lib64 "$dir/hostusr/lib64"
    ln -s usr/sbin "$dir/hostusr/sbin"
    _engine_skeleton "$dir/hostusr" /bin/sh
    engine_import "$dir/busybox" csdk-test/busybox \
        'ENV PATH=/bin' 'CMD ["/bin/sh"]' || return 1
    engine_import "$dir/hostusr" csdk-test/hostusr \
        'ENV PATH=/usr/local/bin:/usr/bin:/bin' 'CMD ["/bin/sh"]' || return 1
    rm -rf "$dir"
    ENGINE_IMAGES_MS=$(($(_engine_ms) - t0))
    _engine_log "images built and imported in $ENGINE_IMAGES_MS ms"
}

_engine_skeleton() {
    mkdir -p "$1/etc" "$1/tmp" "$1/workspace" "$1/root"
    chmod 1777 "$1/tmp"
    chmod 700 "$1/root"
    cat >"$1/etc/passwd" <<EOF
root:x:0:0:root:/root:$2
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$1/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
EOF
}

# engine_import DIR REPO [CHANGE...]: import the tree DIR as REPO:latest;
# each CHANGE is a Dockerfile instruction (ENV, CMD, WORKDIR...).
engine_import() {
    local dir repo q tar out c
    dir=$1 repo=$2
    shift 2
    q="fromSrc=-&repo=$(engine_urlencode "$repo")&tag=latest"
    for c in "$@"; do
        q="$q&changes=$(engine_urlencode "$c")"
    done
    tar=$ENGINE_RUNDIR/import.$$.tar
    tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$tar" . || return 1
    # The content type matters: with curl's default
    # (application/x-www-form-urlencoded) dockerd parses the tar as a form
    # and fails with "invalid semicolon separator in query".
    _engine_call out POST "/images/create?$q" \
        -H 'Content-Type: application/x-tar' --data-binary "@$tar" || {
        rm -f "$tar"
        return 1
    }
    rm -f "$tar"
    case $out in
    *'"status":"sha256:'*) ;;
    *)
        echo "engine_import $repo: $out" >&2
        return 1
        ;;
    esac
    case $out in
    *'"error'*)
        echo "engine_import $repo: $out" >&2
        return 1
        ;;
    esac
}
