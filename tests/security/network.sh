#!/bin/bash
# Attack: network egress from a sandbox created without network (the
# default).  The host listens, and sandboxed code tries to reach it:
#   1. TCP to 127.0.0.1 and to every address of the host's interfaces,
#      and UDP to the same: the host's listeners receive nothing;
#   2. an abstract unix socket the host listens on (abstract names live
#      in the network namespace): unreachable;
#   3. DNS and the outside world: no resolver, no route;
#   4. interfaces: only `lo` exists (/proc/net/dev, ip -o link).
# A control connection from the host itself shows the listeners work.
#
# (With --network the local provider shares the host's network
# namespace on purpose: there, sandboxed code reaches 127.0.0.1 services
# of the host and lists its unix sockets.  Not tested here.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${top_srcdir:?run through make check}/tests/security/common.sh"

new_sandbox a
tag=csdk-sec-$$-$RANDOM
log=$tmp/listener.log
: >"$log"

# The host's listeners: TCP on 127.0.0.1 and on 0.0.0.0, UDP on 0.0.0.0,
# an abstract unix socket.  Every connection or datagram is logged.
cat >"$tmp/listener.py" <<'PY'
import os, select, socket, sys, time
log, tag = sys.argv[1], sys.argv[2]
def out(line):
    with open(log, "a") as f:
        f.write(line + "\n")
lo = socket.socket(); lo.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lo.bind(("127.0.0.1", 0)); lo.listen(16)
anyv4 = socket.socket(); anyv4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
anyv4.bind(("0.0.0.0", 0)); anyv4.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("0.0.0.0", 0))
ab = socket.socket(socket.AF_UNIX); ab.bind("\0" + tag); ab.listen(16)
with open(log + ".ports", "w") as f:
    f.write("%d %d %d\n" % (lo.getsockname()[1], anyv4.getsockname()[1],
                            udp.getsockname()[1]))
end = time.monotonic() + 600
while time.monotonic() < end:
    r, _, _ = select.select([lo, anyv4, udp, ab], [], [], 1)
    for s in r:
        if s is udp:
            data, peer = udp.recvfrom(4096)
            out("udp %r %r" % (peer, data[:60]))
        else:
            c, peer = s.accept()
            out("%s %r" % ({lo: "tcp-lo", anyv4: "tcp-any", ab: "unix"}[s], peer))
            c.close()
PY
"$PYTHON" "$tmp/listener.py" "$log" "$tag" &
host_pids="$host_pids $!"
for _ in $(seq 100); do [ -s "$log.ports" ] && break; sleep 0.05; done
read -r port_lo port_any port_udp <"$log.ports" ||
    { bad "the host listener did not start"; finish; }
host_ips=$(ip -o -4 addr show 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' |
    grep -v '^127\.' | tr '\n' ' ')
echo "# listening on 127.0.0.1:$port_lo, 0.0.0.0:$port_any, udp $port_udp;" \
    "host addresses: ${host_ips:-none}"

# ------------------------------------------------------------------
# 1. TCP and UDP to the host
# ------------------------------------------------------------------
cat >"$tmp/probe.py" <<'PY'
import socket, sys
port_lo, port_any, port_udp = (int(x) for x in sys.argv[1:4])
tag = sys.argv[4]
targets = [("127.0.0.1", port_lo), ("127.0.0.1", port_any)]
targets += [(ip, port_any) for ip in sys.argv[5:]]
for host, port in targets:
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port))
        print("CONNECTED tcp %s:%d" % (host, port))
    except OSError as e:
        print("refused tcp %s:%d: %s" % (host, port, e))
    s.close()
for host in ["127.0.0.1"] + sys.argv[5:]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.sendto(b"from-sandbox-" + tag.encode(), (host, port_udp))
        print("sent udp %s (no error)" % host)
    except OSError as e:
        print("refused udp %s: %s" % (host, e))
a = socket.socket(socket.AF_UNIX)
try:
    a.connect("\0" + tag)
    print("CONNECTED abstract unix @%s" % tag)
except OSError as e:
    print("refused abstract unix: %s" % e)
PY
# shellcheck disable=SC2086
run csdk exec --timeout 30000 "$a" -- /usr/bin/python3 -c "$(cat "$tmp/probe.py")" \
    "$port_lo" "$port_any" "$port_udp" "$tag" $host_ips
sed 's/^/#   /' "$tmp/out"
sleep 0.5
ntcp=$(grep -c '^refused tcp\|^CONNECTED tcp' "$tmp/out")
if [ "$rc" != 0 ] || [ "$ntcp" -lt 2 ]; then
    bad "the probe did not run in the sandbox (exit $rc)"
elif grep -q CONNECTED "$tmp/out"; then
    bad "A CONNECTION FROM THE SANDBOX REACHED THE HOST: $(grep CONNECTED "$tmp/out" | tr '\n' '|')"
else
    ok "every TCP connect to the host (127.0.0.1 and its addresses) failed in the sandbox"
fi
if [ -s "$log" ]; then
    bad "THE HOST LISTENERS RECEIVED: $(tr '\n' '|' <"$log")"
else
    ok "the host's TCP, UDP and abstract unix listeners received nothing"
fi
healthy "TCP/UDP/unix egress"

# ------------------------------------------------------------------
# 3. DNS and the outside world
# ------------------------------------------------------------------
run csdk exec --timeout 30000 "$a" -- /usr/bin/python3 -c '
import socket
for name in ("deb.debian.org", "localhost.localdomain.invalid"):
    try:
        print("RESOLVED", name, socket.getaddrinfo(name, 80)[0][4])
    except OSError as e:
        print("no dns:", name, e)
for host, port in (("8.8.8.8", 53), ("1.1.1.1", 443)):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, port)); print("CONNECTED", host)
    except OSError as e:
        print("refused", host, e)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"\0" * 12, ("8.8.8.8", 53)); print("SENT udp 8.8.8.8")
except OSError as e:
    print("refused udp 8.8.8.8", e)'
sed 's/^/#   /' "$tmp/out"
if grep -qE 'RESOLVED|CONNECTED|SENT' "$tmp/out"; then
    bad "the sandbox resolved a name or reached the outside"
else
    ok "no DNS resolution, no route to the outside (TCP and UDP)"
fi
run csdk exec "$a" -- sh -c 'cat /etc/resolv.conf 2>/dev/null | grep -c nameserver'
if [ "$(cat "$tmp/out")" = 0 ] || [ -z "$(cat "$tmp/out")" ]; then
    ok "the sandbox has no nameserver configured"
else
    bad "the sandbox has a nameserver: $(cat "$tmp/out")"
fi

# ------------------------------------------------------------------
# 4. Interfaces
# ------------------------------------------------------------------
run csdk exec "$a" -- sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
if [ "$(cat "$tmp/out")" = lo ]; then
    ok "/proc/net/dev in the sandbox lists only lo"
else
    bad "/proc/net/dev in the sandbox lists: $(tr '\n' ' ' <"$tmp/out")"
fi
run csdk exec "$a" -- ip -o link
if [ "$rc" = 0 ] && [ "$(awk -F': ' '{ print $2 }' "$tmp/out")" = lo ]; then
    ok "ip -o link in the sandbox shows only lo"
else
    bad "ip -o link in the sandbox (exit $rc): $(tr '\n' '|' <"$tmp/out")"
fi
run csdk exec "$a" -- ip -o addr
if ! grep -vE ' lo +inet6? ' "$tmp/out" | grep -q inet; then
    ok "no address other than loopback in the sandbox"
else
    bad "the sandbox has addresses: $(tr '\n' '|' <"$tmp/out")"
fi
healthy "DNS and interface probes"

# Control: the same listeners do receive from the host, so "nothing
# received" above means something.
"$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3); s.close()' "$port_lo"
sleep 0.3
if grep -q tcp-lo "$log"; then
    ok "control: a connection from the host reaches the listener"
else
    bad "control: the host listener does not even receive from the host"
fi
finish
