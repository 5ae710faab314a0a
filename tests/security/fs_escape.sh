#!/bin/bash
# Attack: reach host files outside the workspace through the filesystem
# API (csdk fs read/ls/exists/write/mkdir/rm), which runs on the HOST side
# on the sandbox's state directory.  Every trick must be refused or stay
# inside the sandbox:
#   1. absolute paths and '..' (/etc/shadow, ../../../../etc/passwd,
#      /workspace/../etc/passwd, an absolute host path);
#   2. symlinks planted by sandboxed code: absolute, relative climbing
#      out, to a directory then a path through it, chained, in /tmp and
#      /home/sandbox too;
#   3. write/mkdir/rm through the same tricks against a canary directory
#      on the host (by absolute path and by symlink): nothing outside is
#      created, changed or deleted;
#   4. destroying a sandbox whose workspace holds links to the canary
#      removes the links, never what they point at.
# The race (a name swapped while the host uses it) is fs_race.sh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

new_sandbox a
sd=$(state_dir "$a")

# Host-side things the sandbox must not reach.  Unique contents, so any
# leak is recognisable in what the CLI prints.
tag=csdk-sec-$$-$RANDOM
secret=$tmp/host-secret.txt
echo "HOST-SECRET-$tag" >"$secret"
canary=$tmp/canary
mkdir -p "$canary/sub"
echo "HOST-CANARY-$tag" >"$canary/keep"
echo "HOST-VICTIM-$tag" >"$canary/victim"
echo "HOST-SUB-$tag" >"$canary/sub/file"
canary_state() {
    (cd "$canary" && find . -printf '%p %y %s\n' | sort && cat keep victim sub/file)
}
canary_before=$(canary_state)
passwd_line=$(head -n 1 /etc/passwd)
# Host lines that no sandbox file holds (the sandbox's /etc is its own).
host_marks=(-e "HOST-SECRET-$tag" -e "HOST-CANARY-$tag" -e "HOST-VICTIM-$tag"
    -e "HOST-SUB-$tag" -e "$passwd_line")
if [ -r /etc/shadow ] && [ -s /etc/shadow ]; then
    host_marks+=(-e "$(head -n 1 /etc/shadow)")
fi
hn=$(cat /etc/hostname 2>/dev/null)
[ "${#hn}" -ge 8 ] && host_marks+=(-e "$hn")

# leaked: the last run printed host content.
leaked() {
    grep -qF "${host_marks[@]}" "$tmp/out"
}

# refused_read TEXT ARGS...: the fs command fails and prints no host content.
refused() {
    local what=$1
    shift
    run csdk fs "$@"
    if leaked; then
        bad "$what: HOST CONTENT LEAKED (exit $rc)"
    elif [ "$rc" = 0 ]; then
        bad "$what: succeeded (exit 0)"
    else
        ok "$what: refused (exit $rc: $(head -n 1 "$tmp/err" | cut -c1-140))"
    fi
}

# ------------------------------------------------------------------
# 1. Absolute paths and '..'
# ------------------------------------------------------------------
refused "fs read /etc/shadow" read "$a" /etc/shadow
refused "fs read /etc/hostname" read "$a" /etc/hostname
refused "fs read /etc/passwd" read "$a" /etc/passwd
refused "fs read of a host file by its absolute path" read "$a" "$secret"
refused "fs read ../../../../etc/passwd" read "$a" ../../../../etc/passwd
refused "fs read /workspace/../etc/passwd" read "$a" /workspace/../etc/passwd
refused "fs read /workspace/../../../../../../../..$secret" read "$a" \
    "/workspace/../../../../../../../..$secret"
refused "fs read ./../../../../host-secret.txt (climbs to the test dir)" \
    read "$a" ./../../../../host-secret.txt
refused "fs read /tmp/../../etc/passwd" read "$a" /tmp/../../etc/passwd
refused "fs read /home/sandbox/../../etc/passwd" read "$a" \
    /home/sandbox/../../etc/passwd
refused "fs read /workspace/./.././../etc/passwd" read "$a" \
    /workspace/./.././../etc/passwd
refused "fs ls /etc" ls "$a" /etc
refused "fs ls .." ls "$a" ..
refused "fs ls /workspace/.." ls "$a" /workspace/..
run csdk fs exists "$a" /etc/passwd
if [ "$rc" = 0 ]; then bad "fs exists /etc/passwd answered yes"
else ok "fs exists /etc/passwd does not answer yes (exit $rc)"; fi
healthy "absolute and '..' paths"

# ------------------------------------------------------------------
# 2. Symlinks planted by sandboxed code
# ------------------------------------------------------------------
# From STATE/ws, ../../../.. is $tmp: where host-secret.txt and canary are.
run csdk exec "$a" -- sh -c '
set -e
echo SANDBOX-DATA > inside.txt
mkdir -p dir && echo SANDBOX-DATA > dir/f
ln -s inside.txt ok-link                       # stays inside: allowed
ln -s dir ok-dirlink
ln -s /etc/passwd p
ln -s ../../../../../../../../../etc/passwd rp
ln -s /etc d
ln -s ../../../../../../../../../etc rd
ln -s "$1" hs                                  # a host path (absolute)
ln -s ../../../../host-secret.txt rhs          # the same, relative
ln -s ../../../../canary rcanary
ln -s d chain1 && ln -s chain1 chain2          # chained, ends in /etc
ln -s /etc/passwd /tmp/p && ln -s /etc /tmp/d
ln -s /etc/passwd /home/sandbox/p
ln -s ../../../../host-secret.txt /tmp/rhs
ls -l >/dev/null' sh "$secret"
[ "$rc" = 0 ] || bad "planting symlinks in the sandbox failed (exit $rc)"

# Controls: links that stay inside work, so a refusal below is the
# confinement, not a broken read.
run csdk fs read "$a" ok-link
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = SANDBOX-DATA ]; then
    ok "control: a symlink that stays inside the workspace is read"
else
    bad "control: reading ok-link (inside the workspace) failed (exit $rc)"
fi
run csdk fs read "$a" ok-dirlink/f
if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = SANDBOX-DATA ]; then
    ok "control: a path through an inside directory symlink is read"
else
    bad "control: reading ok-dirlink/f failed (exit $rc)"
fi

refused "fs read p (-> /etc/passwd)" read "$a" p
refused "fs read /workspace/p (-> /etc/passwd)" read "$a" /workspace/p
refused "fs read rp (-> ../../../..../etc/passwd)" read "$a" rp
refused "fs read d/passwd (d -> /etc)" read "$a" d/passwd
refused "fs read d/shadow (d -> /etc)" read "$a" d/shadow
refused "fs read d/hostname (d -> /etc)" read "$a" d/hostname
refused "fs read rd/passwd (rd -> ../../..../etc)" read "$a" rd/passwd
refused "fs read /workspace/d/passwd" read "$a" /workspace/d/passwd
refused "fs read hs (-> the host secret, absolute)" read "$a" hs
refused "fs read rhs (-> the host secret, relative)" read "$a" rhs
refused "fs read rcanary/keep (-> the host canary)" read "$a" rcanary/keep
refused "fs read chain2/passwd (chain2 -> chain1 -> d -> /etc)" read "$a" \
    chain2/passwd
refused "fs read /tmp/p (-> /etc/passwd)" read "$a" /tmp/p
refused "fs read /tmp/d/passwd" read "$a" /tmp/d/passwd
refused "fs read /tmp/rhs (-> the host secret, relative)" read "$a" /tmp/rhs
refused "fs read /home/sandbox/p (-> /etc/passwd)" read "$a" /home/sandbox/p
refused "fs ls d (-> /etc)" ls "$a" d
refused "fs ls rd (-> /etc)" ls "$a" rd
refused "fs ls rcanary (-> the host canary)" ls "$a" rcanary
refused "fs ls chain2" ls "$a" chain2
run csdk fs exists "$a" rcanary/keep
if [ "$rc" = 0 ]; then
    bad "fs exists rcanary/keep answered yes: it sees a host file"
else
    ok "fs exists rcanary/keep does not see the host file (exit $rc)"
fi
run csdk fs exists "$a" d/shadow
if [ "$rc" = 0 ]; then
    bad "fs exists d/shadow answered yes: it sees a host file"
else
    ok "fs exists d/shadow does not see the host file (exit $rc)"
fi
# ls of the workspace lists the links as links, and reveals no target.
run csdk --json fs ls "$a" /workspace
if [ "$rc" = 0 ] && ! leaked && grep -q '"p"' "$tmp/out"; then
    ok "fs ls /workspace lists the planted links without following them"
else
    bad "fs ls /workspace (exit $rc)"
fi
healthy "reads through planted symlinks"

# ------------------------------------------------------------------
# 3. write / mkdir / rm through the same tricks, against the canary
# ------------------------------------------------------------------
run csdk exec "$a" -- sh -c '
set -e
ln -s "$1" cl                       # -> the canary, absolute host path
ln -s "$1/keep" kl                  # -> a host file
ln -s "$1/victim" vl                # -> a host file, to be removed
ln -s "$1/sub" sl                   # -> a host directory
ln -s "$1" /tmp/cl
ln -s "$1" /home/sandbox/cl' sh "$canary"
[ "$rc" = 0 ] || bad "planting canary links failed (exit $rc)"

wr() { # wr TEXT PATH: write through PATH
    local what=$1 path=$2
    if printf 'SANDBOX-WROTE-%s\n' "$tag" |
        csdk fs write "$a" -- "$path" >"$tmp/out" 2>"$tmp/err"; then
        rc=0
    else
        rc=$?
    fi
    echo "#   $what: exit $rc $(head -n 1 "$tmp/err" | cut -c1-140)"
}
# The canary is under /tmp, so its absolute path names the sandbox's own
# /tmp (STATE/tmp): that write must land there, not on the host.
wr "write by the canary's absolute path" "$canary/new-abs"
wr "write /etc/csdk-$tag" "/etc/csdk-$tag"
wr "write via ..-path to the canary" "/workspace/../../../../canary/new-dots"
wr "write ../../../../canary/new-rel" "../../../../canary/new-rel"
wr "write cl/new (cl -> canary)" cl/new
wr "write cl/keep (overwrite a host file through a dir link)" cl/keep
wr "write rcanary/new (relative link)" rcanary/new
wr "write rcanary/keep" rcanary/keep
wr "write kl (a link to a host file)" kl
wr "write /tmp/cl/new" /tmp/cl/new
wr "write /home/sandbox/cl/new" /home/sandbox/cl/new
wr "write cl/sub/new (a new file below a linked dir)" cl/sub/new
wr "write sl/file (overwrite in a linked dir)" sl/file
wr "write cl/newdir/new (mkdir -p through a link)" cl/newdir/new

if [ -f "$sd/ws/kl" ] && [ ! -L "$sd/ws/kl" ] &&
    grep -q "SANDBOX-WROTE-$tag" "$sd/ws/kl"; then
    ok "writing through the link kl replaced the link in the workspace"
elif [ -L "$sd/ws/kl" ]; then
    ok "writing through the link kl left the link alone"
else
    bad "writing through the link kl: unexpected result"
fi
for path in cl/newdir rcanary/newdir /tmp/cl/newdir sl/newdir \
    "$canary/newdir" ../../../../canary/newdir "/etc/csdk-$tag"; do
    run csdk fs mkdir "$a" -- "$path"
    echo "#   mkdir $path: exit $rc $(head -n 1 "$tmp/err" | cut -c1-140)"
done
for path in cl/victim rcanary/victim /tmp/cl/victim sl/file cl/sub \
    rcanary/sub "$canary/victim" ../../../../canary/victim vl kl cl; do
    run csdk fs rm "$a" -- "$path"
    echo "#   rm $path: exit $rc $(head -n 1 "$tmp/err" | cut -c1-140)"
done

canary_after=$(canary_state)
if [ "$canary_after" = "$canary_before" ]; then
    ok "no write, mkdir or rm changed anything in the host canary directory"
else
    bad "THE HOST CANARY CHANGED: $(diff <(echo "$canary_before") \
        <(echo "$canary_after") | tr '\n' '|')"
fi
if [ -e "/etc/csdk-$tag" ]; then
    bad "A WRITE LANDED IN THE HOST'S /etc"
    rm -rf "/etc/csdk-$tag"
else
    ok "nothing was written to the host's /etc"
fi
if [ -f "$sd/tmp${canary#/tmp}/new-abs" ] && [ ! -e "$canary/new-abs" ]; then
    ok "the write to the canary's absolute path landed in the sandbox's /tmp"
else
    bad "the write to $canary/new-abs did not land in the sandbox's /tmp"
fi
if [ "$(cat "$secret")" = "HOST-SECRET-$tag" ]; then
    ok "the host secret file is unchanged"
else
    bad "THE HOST SECRET FILE CHANGED"
fi
if [ -e "$tmp/new-rel" ] || [ -e "$root/canary" ] || [ -e "$root/new-rel" ]; then
    bad "a write landed outside the workspace, next to the state directory"
else
    ok "nothing was created next to the state directory"
fi
# Whatever the writes did, they did inside the sandbox (e.g. replaced the
# link kl with a regular file): the workspace holds no host content and
# the writes are visible only there.
run csdk exec "$a" -- sh -c 'cat kl 2>/dev/null; ls -la; ls -la /tmp'
if leaked; then
    bad "the sandbox now sees host content"
else
    ok "the sandbox holds no host content after the writes"
fi
healthy "writes, mkdir and rm through symlinks"

# ------------------------------------------------------------------
# 4. Destroy follows no link
# ------------------------------------------------------------------
new_sandbox b
run csdk exec "$b" -- sh -c '
ln -s "$1" cl; ln -s "$1/keep" kl; ln -s ../../../../canary rcl
mkdir -p deep/er && ln -s "$1" deep/er/cl
ln -s "$1" /tmp/cl; ln -s "$1" /home/sandbox/cl
ln -s "$1/sub" /run/csdk/logs/cl 2>/dev/null; true' sh "$canary"
run csdk destroy "$b"
expect_rc 0 "destroy a sandbox whose workspace links to the canary"
if [ -d "$(state_dir "$b")" ]; then
    bad "the destroyed sandbox's state directory is still there"
else
    ok "the destroyed sandbox's state directory is gone"
fi
if [ "$(canary_state)" = "$canary_before" ]; then
    ok "destroy removed the links, not the host canary they point at"
else
    bad "DESTROY CHANGED THE HOST CANARY"
fi
healthy "destroy with planted links"

[ -d "$sd/ws" ] || bad "sandbox $a lost its workspace"
finish
