#!/bin/bash
# Attack: from a sandbox that root created, reach host root.
#   1. Who the sandbox is on the host (root only): bwrap and the agent run
#      as an unprivileged host user -- run_as, by default nobody -- with
#      every uid and gid that user's, no capability and NoNewPrivs; the
#      sandbox's uid 1000 maps onto that user (its uid_map, read from the
#      host), never onto uid 0.  What the sandbox writes, and what is
#      written into it with `csdk fs` (directories made on the way too),
#      belongs to that user on the host, so sandboxed code can change and
#      remove it; the state directory stays root's, 0700.
#   2. The host's kernel: /proc/sys is a read-only mount inside and
#      kernel/core_pattern (the program the kernel runs as root on the
#      host at the next core dump) is not writable (test -w: access(2),
#      which sees both, so a failed defence writes nothing); root-only
#      /proc files (/proc/slabinfo, /proc/vmallocinfo...) cannot be read.
#   3. Nested user namespaces (when bwrap has --disable-userns): unshare -U
#      fails inside, so no nested root can remount what is read-only.
#   4. tmpfs memory: /dev/shm is at most 64 MiB (and at most memory_mb)
#      and /dev itself is read-only, so no tmpfs inside is unbounded.
#   5. Snapshots (root only): the copy of a sandbox's files, and a sandbox
#      made from it, belong to the sandbox's user, not to root -- a
#      setuid file of the sandbox's never becomes a setuid-root one.
#   6. run_as (root only): root, by name or as 0:0, is refused with a
#      message saying why; UID:GID is honoured (processes and files).
# Every check of 1, 5 and 6 fails where bwrap runs as root.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

is_root=0
[ "$(id -u)" = 0 ] && is_root=1
nobody_uid=$(id -u nobody 2>/dev/null) || nobody_uid=65534
nobody_gid=$(id -g nobody 2>/dev/null) || nobody_gid=65534
bwrap_help=$(bwrap --help 2>&1)
has_opt() { case $bwrap_help in *"$1"*) return 0 ;; *) return 1 ;; esac; }

new_sandbox a
sd=$(state_dir "$a")

# ------------------------------------------------------------------
# 1. Who the sandbox is on the host
# ------------------------------------------------------------------
# ids PID: "UIDS / GIDS / CapEff / NoNewPrivs" from /proc/PID/status.
ids() {
    awk '/^Uid:/ {u = $2 " " $3 " " $4 " " $5}
         /^Gid:/ {g = $2 " " $3 " " $4 " " $5}
         /^CapEff:/ {c = $2} /^NoNewPrivs:/ {n = $2}
         END {print u " / " g " / " c " / " n}' "/proc/$1/status" 2>/dev/null
}
# owned_by UID PATH...: every PATH belongs to UID (prints the others).
owned_by() {
    local want=$1 p o others=
    shift
    for p in "$@"; do
        o=$(stat -c %u "$p" 2>/dev/null) || o=missing
        [ "$o" = "$want" ] || others="$others ${p#"$sd"/}:$o"
    done
    [ -z "$others" ] || echo "$others"
    [ -z "$others" ]
}

run csdk exec "$a" -- sh -c 'cat /proc/self/uid_map; id -u'
echo "#   uid_map inside: $(head -n 1 "$tmp/out" | tr -s ' ')"
if [ "$is_root" = 1 ]; then
    u=$nobody_uid
    g=$nobody_gid
    want="$u $u $u $u / $g $g $g $g / 0000000000000000 / 1"
    bp=$(meta_get "$a" bwrap_pid)
    ap=$(agent_host_pid "$a")
    for who in "bwrap:$bp" "agent:$ap"; do
        got=$(ids "${who#*:}")
        if [ -n "${who#*:}" ] && [ "$got" = "$want" ]; then
            ok "the sandbox's ${who%%:*} runs on the host as uid $u, gid $g, no capability, NoNewPrivs"
        else
            bad "THE SANDBOX'S ${who%%:*} (pid ${who#*:}) RUNS ON THE HOST AS: $got (want $want)"
        fi
    done
    # Read from the host, uid_map is relative to the host's namespace.
    map=$(awk 'NR == 1 {print $1, $2, $3}' "/proc/$ap/uid_map" 2>/dev/null)
    if [ "$map" = "1000 $u 1" ]; then
        ok "the sandbox's uid 1000 is host uid $u (its uid_map from the host: $map)"
    else
        bad "THE SANDBOX'S USER NAMESPACE MAPS ONTO HOST IDS: '$map' (want '1000 $u 1')"
    fi
    if ! has_opt --disable-userns; then
        # Without a nested namespace, the one inside is the same map.
        if [ "$(head -n 1 "$tmp/out" | tr -s ' ' | sed 's/^ //')" = "1000 $u 1" ]; then
            ok "/proc/self/uid_map inside shows host uid $u"
        else
            bad "/proc/self/uid_map inside: $(head -n 1 "$tmp/out")"
        fi
    fi

    run csdk exec "$a" -- sh -c 'echo x >made.txt && mkdir -p /home/sandbox/d &&
: >/tmp/t && echo STARTED'
    printf 'host data\n' >"$tmp/data"
    csdk fs write "$a" host/deep/written.txt <"$tmp/data" >/dev/null 2>"$tmp/err"
    csdk fs mkdir "$a" /home/sandbox/made/by/host >/dev/null 2>>"$tmp/err"
    if others=$(owned_by "$u" "$sd/ws" "$sd/home" "$sd/tmp" "$sd/logs" \
        "$sd/ws/made.txt" "$sd/home/d" "$sd/tmp/t" "$sd/ws/host" \
        "$sd/ws/host/deep" "$sd/ws/host/deep/written.txt" \
        "$sd/home/made" "$sd/home/made/by/host"); then
        ok "the sandbox's directories, its files and the files csdk fs wrote into it belong to host uid $u"
    else
        bad "FILES OF THE SANDBOX BELONG TO OTHER HOST USERS (path:uid):$others"
    fi
    run csdk exec "$a" -- sh -c 'echo more >>host/deep/written.txt &&
mv host/deep/written.txt host/moved && rm -r host /home/sandbox/made && echo CHANGED'
    if [ "$rc" = 0 ] && grep -qx CHANGED "$tmp/out"; then
        ok "sandboxed code changes, moves and removes what csdk fs wrote"
    else
        bad "sandboxed code cannot change what csdk fs wrote (exit $rc)"
    fi
    perm=$(stat -c '%a %u' "$sd")
    if [ "$perm" = "700 0" ]; then
        ok "the state directory stays root's, mode 700"
    else
        bad "the state directory is '$perm' (mode, owner), not '700 0'"
    fi
else
    echo "#   not root: sandboxes run as the caller ($(id -u)); section 1 is for root"
fi
healthy "identity checks"

# ------------------------------------------------------------------
# 2. The host's kernel
# ------------------------------------------------------------------
run csdk exec "$a" -- sh -c '
awk '\''$5 == "/proc/sys" {print "MOUNT " $6}'\'' /proc/self/mountinfo
if [ -w /proc/sys/kernel/core_pattern ]; then echo "WRITABLE core_pattern"; fi
for f in /proc/slabinfo /proc/vmallocinfo /proc/pagetypeinfo \
    /proc/timer_list /proc/kpageflags /proc/kpagecount; do
    [ -e "$f" ] || continue
    if head -c 1 "$f" >/dev/null 2>&1; then echo "READABLE $f"
    else echo "unreadable $f"; fi
done'
sed 's/^/#   /' "$tmp/out"
case $(sed -n 's/^MOUNT //p' "$tmp/out") in
ro | ro,*) ok "/proc/sys is mounted read-only inside" ;;
*) bad "/proc/sys is not a read-only mount inside: '$(sed -n 's/^MOUNT //p' "$tmp/out")'" ;;
esac
if grep -q '^WRITABLE' "$tmp/out"; then
    bad "KERNEL.CORE_PATTERN IS WRITABLE INSIDE: sandboxed code can name a program the host's kernel runs as root"
elif [ "$rc" = 0 ]; then
    ok "kernel/core_pattern is not writable inside"
else
    bad "the core_pattern probe failed (exit $rc)"
fi
readable=$(sed -n 's/^READABLE //p' "$tmp/out" | tr '\n' ' ')
if [ -z "$readable" ] && grep -q '^unreadable /proc/slabinfo' "$tmp/out"; then
    ok "root-only /proc files cannot be read inside ($(grep -c '^unreadable' "$tmp/out") tried)"
else
    bad "ROOT-ONLY /proc FILES ARE READABLE INSIDE: ${readable:-/proc/slabinfo missing}"
fi

# ------------------------------------------------------------------
# 3. Nested user namespaces
# ------------------------------------------------------------------
if has_opt --disable-userns; then
    run csdk exec "$a" -- sh -c 'unshare -U true && echo NESTED-USERNS;
unshare -Ur sh -c "mount -o remount,rw /proc/sys" 2>/dev/null && echo REMOUNTED; :'
    if grep -q 'NESTED-USERNS\|REMOUNTED' "$tmp/out"; then
        bad "sandboxed code creates nested user namespaces: $(tr '\n' ' ' <"$tmp/out")"
    else
        ok "unshare -U fails inside (bwrap --disable-userns)"
    fi
else
    echo "#   this bwrap has no --disable-userns: section 3 is not tried"
fi

# ------------------------------------------------------------------
# 4. tmpfs memory
# ------------------------------------------------------------------
if has_opt --size; then
    run csdk exec "$a" -- sh -c 'df -B1 --output=size /dev/shm | tail -n 1;
touch /dev/csdk-probe 2>/dev/null && echo DEV-WRITABLE; :'
    size=$(head -n 1 "$tmp/out" | tr -d ' ')
    if [ -n "$size" ] && [ "$size" -le $((64 * 1024 * 1024)) ]; then
        ok "/dev/shm is a tmpfs of $size bytes (at most 64 MiB)"
    else
        bad "/dev/shm holds '$size' bytes: unbounded"
    fi
    if grep -q DEV-WRITABLE "$tmp/out"; then
        bad "/dev (an unbounded tmpfs) is writable inside"
    else
        ok "/dev is read-only inside"
    fi
else
    echo "#   this bwrap has no --size: section 4 is not tried"
fi
healthy "kernel and tmpfs probes"

# ------------------------------------------------------------------
# 5. Snapshots
# ------------------------------------------------------------------
snapshot=$top_builddir/tests/security/snapshot
if [ "$is_root" != 1 ]; then
    echo "#   not root: section 5 is for root"
elif [ ! -x "$snapshot" ]; then
    bad "$snapshot is not built (make check builds it)"
else
    run csdk exec "$a" -- sh -c 'mkdir -p s/d && echo kept >s/d/f &&
cp /bin/true s/suid && chmod 4755 s/suid && ln -s d/f s/l && echo ok'
    if snap=$("$snapshot" "$tmp/csdk.ini" "$a" 2>"$tmp/err"); then
        saved=$root/saved/${snap#local:}
        if others=$(owned_by "$nobody_uid" "$saved/ws/s" "$saved/ws/s/d" \
            "$saved/ws/s/d/f" "$saved/ws/s/suid" "$saved/ws/s/l"); then
            ok "the snapshot's copies belong to host uid $nobody_uid, not root"
        else
            bad "SNAPSHOT COPIES BELONG TO OTHER HOST USERS (path:uid):$others"
        fi
        if [ "$(stat -c %u "$saved/ws/s/suid")" = 0 ] &&
            [ -u "$saved/ws/s/suid" ]; then
            bad "THE SANDBOX'S SETUID FILE BECAME A SETUID-ROOT FILE IN THE SNAPSHOT"
        else
            ok "the sandbox's setuid file is not setuid-root in the snapshot"
        fi
        new_sandbox b --template "$snap"
        sdb=$(state_dir "$b")
        if others=$(owned_by "$nobody_uid" "$sdb/ws/s" "$sdb/ws/s/d" \
            "$sdb/ws/s/d/f" "$sdb/ws/s/suid" "$sdb/ws/s/l"); then
            ok "a sandbox made from the snapshot owns its copies (host uid $nobody_uid)"
        else
            bad "A SANDBOX MADE FROM A SNAPSHOT HAS FILES OF OTHER HOST USERS (path:uid):$others"
        fi
        run csdk exec "$b" -- sh -c 'cat s/d/f && echo new >>s/d/f && rm -r s && echo CHANGED'
        if [ "$rc" = 0 ] && grep -qx CHANGED "$tmp/out"; then
            ok "the sandbox made from the snapshot changes and removes its copies"
        else
            bad "the sandbox made from the snapshot cannot change its copies (exit $rc)"
        fi
        csdk -q destroy "$b" >/dev/null 2>&1
    else
        bad "cannot snapshot the sandbox: $(head -n 1 "$tmp/err")"
    fi
fi

# ------------------------------------------------------------------
# 6. run_as
# ------------------------------------------------------------------
if [ "$is_root" = 1 ]; then
    # Whoever creates a sandbox cannot choose the host user, nor the
    # programs that run on the host before privileges are dropped.
    for kv in run_as=43210:43211 run_as=root bwrap=/bin/sh agent=/bin/sh root=/tmp; do
        run csdk -q create $SMALL --opt "$kv"
        if [ "$rc" = 65 ] && grep -q 'per provider instance' "$tmp/err"; then
            ok "create option $kv is refused (exit 65)"
        else
            bad "create option $kv: exit $rc, '$(cat "$tmp/out")' $(head -n 1 "$tmp/err")"
            case $(cat "$tmp/out") in local:*) csdk -q destroy "$(cat "$tmp/out")" ;; esac
        fi
    done
    for v in 0:0 "$nobody_uid:0"; do
        cat >"$tmp/root0.ini" <<INI
[host]
plugin_dir = $PLUGIN_DIR
default_provider = local

[provider.local]
plugin = local
root = $root
agent = $AGENT
run_as = $v
INI
        run "$CSDK_BIN" --config "$tmp/root0.ini" -q create $SMALL
        if [ "$rc" = 78 ] && grep -q 'run_as.*\(uid\|gid\) 0' "$tmp/err"; then
            ok "run_as = $v in the configuration is refused (exit 78)"
        else
            bad "run_as = $v in the configuration: exit $rc $(head -n 1 "$tmp/err")"
            case $(cat "$tmp/out") in local:*) "$CSDK_BIN" --config "$tmp/root0.ini" -q destroy "$(cat "$tmp/out")" ;; esac
        fi
    done
    cat >"$tmp/root.ini" <<INI
[host]
plugin_dir = $PLUGIN_DIR
default_provider = local

[provider.local]
plugin = local
root = $root
agent = $AGENT
run_as = root
INI
    run "$CSDK_BIN" --config "$tmp/root.ini" -q create $SMALL
    if [ "$rc" = 78 ] && grep -q 'run_as.*uid 0' "$tmp/err"; then
        ok "run_as = root in the configuration is refused (exit 78)"
    else
        bad "run_as = root in the configuration: exit $rc $(head -n 1 "$tmp/err")"
        case $(cat "$tmp/out") in local:*) csdk -q destroy "$(cat "$tmp/out")" ;; esac
    fi
    sed "s/^run_as = .*/run_as = 43210:43211/" "$tmp/root.ini" >"$tmp/other.ini"
    c=$("$CSDK_BIN" --config "$tmp/other.ini" -q create $SMALL) ||
        bad "cannot create a sandbox with run_as = 43210:43211"
    sdc=$(state_dir "$c")
    apc=$(agent_host_pid "$c")
    run "$CSDK_BIN" --config "$tmp/other.ini" exec "$c" -- sh -c 'echo x >mine && echo ok'
    got="$(ids "$apc") $(stat -c '%u:%g' "$sdc/ws" "$sdc/ws/mine" | tr '\n' ' ')"
    if [ "$got" = "43210 43210 43210 43210 / 43211 43211 43211 43211 / 0000000000000000 / 1 43210:43211 43210:43211 " ]; then
        ok "run_as=43210:43211: the agent and the files are that user's"
    else
        bad "run_as=43210:43211: $got"
    fi
    "$CSDK_BIN" --config "$tmp/other.ini" -q destroy "$c" >/dev/null 2>&1
fi
healthy "snapshot and run_as checks"
finish
