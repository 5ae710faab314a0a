#!/bin/sh
# Self-test of the Namespace API fake (tests/namespace/fake_namespace.py)
# against its contract, tests/namespace/API.md: drives it with curl through
# a whole instance lifecycle, the error replies and every fault switch.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/namespace/fake_common.sh"

skip() {
    echo "SKIP: $*" >&2
    exit 77
}
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
command -v base64 >/dev/null 2>&1 || skip "base64 is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ns-selftest.XXXXXX") || exit 1
cleanup() {
    fake_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

checks=0
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp/hdr" "$tmp/body"; do
        if [ -s "$f" ]; then
            echo "--- $(basename "$f"):" >&2
            head -c 2000 "$f" | sed 's/^/  /' >&2
            echo >&2
        fi
    done
    if [ -n "${NS_FAKE_LOG:-}" ] && [ -s "$NS_FAKE_LOG" ]; then
        echo "--- fake log (last lines):" >&2
        tail -n 20 "$NS_FAKE_LOG" | sed 's/^/  /' >&2
    fi
    exit 1
}
ok() {
    checks=$((checks + 1))
}

CS=/namespace.cloud.compute.v1beta.ComputeService
CMD=/namespace.cloud.compute.v1beta.CommandService/RunCommandSync

# post URL BODY [curl args...]: POST a JSON body with the token; the reply
# lands in $tmp/body, its headers in $tmp/hdr, the status in $status.
# $auth and $ctype, when set, replace the Authorization and Content-Type
# headers for one call (auth= ctype= call ...).
post() {
    _url=$1
    _body=$2
    shift 2
    status=$(curl -sS -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
        -H "Authorization: ${auth-Bearer $NS_FAKE_TOKEN}" \
        -H "Content-Type: ${ctype-application/json}" "$@" \
        --data-binary "$_body" "$_url") || status=curl-failed
    unset auth ctype
}
# call METHOD BODY [curl args...]: a ComputeService call.
call() {
    _m=$1
    shift
    post "$NS_FAKE_URL$CS/$_m" "$@"
}
# jq-less JSON access: json EXPR prints EXPR evaluated with d = the reply.
json() {
    "$NS_FAKE_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
' "$tmp/body" "$1" 2>/dev/null
}
expect_status() {
    [ "$status" = "$1" ] || fail "$2: HTTP status $status, expected $1"
    ok
}
expect_error() {
    expect_status "$1" "$3"
    [ "$(json 'd["code"]')" = "$2" ] ||
        fail "$3: Connect code $(json 'd.get("code")'), expected $2"
    [ -n "$(json 'd["message"]')" ] || fail "$3: error without a message"
    grep -qi '^content-type: application/json' "$tmp/hdr" ||
        fail "$3: error reply is not application/json"
    ok
}
expect_json() {
    _got=$(json "$1")
    [ "$_got" = "$2" ] || fail "$3: $1 is '$_got', expected '$2'"
    ok
}
header() {
    sed -n "s/^$1: *//Ip" "$tmp/hdr" | tr -d '\r'
}
ms() {
    date +%s%3N
}
# run ID ARGV_JSON [extra command fields] [curl args...]: RunCommandSync
# through the instance's command service endpoint.
run() {
    _id=$1
    _argv=$2
    _extra=${3:-}
    if [ $# -ge 3 ]; then shift 3; else shift $#; fi
    post "$NS_FAKE_URL/cmd/$_id$CMD" \
        "{\"instanceId\":\"$_id\",\"targetContainerName\":\"main\",\"command\":{\"command\":$_argv$_extra}}" "$@"
}
stdout_of() {
    json 'd.get("stdout", "")' | base64 -d
}
stderr_of() {
    json 'd.get("stderr", "")' | base64 -d
}
exit_of() {
    json 'd.get("exitCode", 0)'
}
create() {
    call CreateInstance "{\"shape\":{\"virtualCpu\":2,\"memoryMegabytes\":4096,\"machineArch\":\"amd64\",\"os\":\"linux\"},\"containers\":[{\"name\":\"main\",\"imageRef\":\"debian:12\",\"args\":[\"sleep\",\"infinity\"],\"environment\":{\"FROM_CONTAINER\":\"c1\"},\"exportPorts\":[{\"containerPort\":8080,\"proto\":\"TCP\"}]}],\"documentedPurpose\":\"selftest\"${1:-}}"
    expect_status 200 "CreateInstance"
    id=$(json 'd["metadata"]["instanceId"]')
    [ -n "$id" ] || fail "CreateInstance: no metadata.instanceId"
}

fake_start --ready-after-ms 1500
[ -n "$NS_FAKE_URL" ] && [ -n "$NS_FAKE_TOKEN" ] && [ -n "$NS_FAKE_PID" ] ||
    fail "fake_start did not export NS_FAKE_URL/TOKEN/PID"
kill -0 "$NS_FAKE_PID" || fail "NS_FAKE_PID is not running"
ok

# --- protocol and authentication -------------------------------------------

status=$(curl -sS -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary '{}' \
    "$NS_FAKE_URL$CS/ListInstances")
expect_error 401 unauthenticated "no Authorization header"
auth='Bearer not-the-token' call ListInstances '{}'
expect_error 401 unauthenticated "wrong token"
auth="Basic $NS_FAKE_TOKEN" call ListInstances '{}'
expect_error 401 unauthenticated "not a bearer token"
ctype=text/plain call ListInstances '{}'
expect_status 415 "text/plain body"
[ "$(header Accept-Post)" = application/json ] || fail "415 without Accept-Post"
ctype='application/json; charset=utf-8' call ListInstances '{}'
expect_status 200 "charset parameter"
status=$(curl -sS -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' \
    -H "Authorization: Bearer $NS_FAKE_TOKEN" "$NS_FAKE_URL$CS/ListInstances")
expect_status 405 "GET of a unary call"
call NoSuchMethod '{}'
expect_error 404 unimplemented "unknown method"
call ListInstances ''
expect_error 400 invalid_argument "empty body"
call ListInstances '{"oops'
expect_error 400 invalid_argument "malformed JSON"
call ListInstances '[1]'
expect_error 400 invalid_argument "non-object body"
call ListInstances '{}'
expect_status 200 "ListInstances with nothing"
[ "$(cat "$tmp/body")" = '{}' ] || fail "empty ListInstances is not {}"
ok

# --- CreateInstance validation ----------------------------------------------

call CreateInstance '{"containers":[{"name":"main"}]}'
expect_error 400 invalid_argument "CreateInstance without shape"
call CreateInstance '{"shape":{"virtualCpu":2,"machineArch":"amd64"}}'
expect_error 400 invalid_argument "shape without memory"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"sparc"}}'
expect_error 400 invalid_argument "bad machineArch"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"amd64"},"deadline":"2001-01-01T00:00:00Z"}'
expect_error 400 invalid_argument "deadline in the past"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"amd64"},"deadline":"tomorrow"}'
expect_error 400 invalid_argument "deadline not RFC 3339"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"amd64"},"containers":[{"name":"a"},{"name":"a"}]}'
expect_error 400 invalid_argument "duplicate container names"
call DescribeInstance '{}'
expect_error 400 invalid_argument "DescribeInstance without id"
call DescribeInstance '{"instanceId":"nosuchinstance"}'
expect_error 404 not_found "DescribeInstance of an unknown id"

# --- lifecycle: create, not ready, wait, ready ------------------------------

t0=$(ms)
create
a=$id
expect_json 'd["metadata"]["status"]' CREATING "fresh instance"
expect_json '"readyAt" in d["metadata"]' False "readyAt before ready"
expect_json 'd["metadata"]["shape"]["memoryMegabytes"]' 4096 "shape echoed"
expect_json 'd["metadata"]["documentedPurpose"]' selftest "purpose echoed"
ep=$(json 'd["extendedMetadata"]["commandServiceEndpoint"]')
[ "$ep" = "$NS_FAKE_URL/cmd/$a" ] || fail "commandServiceEndpoint is '$ep'"
ok
run "$a" '["true"]'
expect_error 400 failed_precondition "command on a CREATING instance"
call DescribeInstance "{\"instance_id\":\"$a\"}"
expect_status 200 "DescribeInstance (proto field name)"
expect_json 'd["metadata"]["status"]' CREATING "DescribeInstance before ready"
expect_json 'd["extendedMetadata"]["commandServiceEndpoint"]' "$ep" \
    "endpoint in DescribeInstance"
call WaitInstanceSync "{\"instanceId\":\"$a\"}"
t1=$(ms)
expect_status 200 WaitInstanceSync
expect_json 'd["metadata"]["status"]' RUNNING "WaitInstanceSync reply"
[ $((t1 - t0)) -ge 1400 ] || fail "WaitInstanceSync returned after $((t1 - t0)) ms"
ok
call DescribeInstance "{\"instanceId\":\"$a\"}"
expect_json 'd["metadata"]["status"]' RUNNING "DescribeInstance after ready"
expect_json '"readyAt" in d["metadata"] and "createdAt" in d["metadata"]' \
    True "readyAt/createdAt"
expect_json 'd["metadata"]["deadline"].endswith("Z")' True "deadline RFC 3339"
expect_json 'd["containers"][0]["name"]' main "containers[0].name"
call WaitInstanceSync "{\"instanceId\":\"$a\"}"
expect_json 'd["metadata"]["status"]' RUNNING "WaitInstanceSync when running"

# A wait bounded by the client's Connect timeout.
create
slow=$id
call WaitInstanceSync "{\"instanceId\":\"$slow\"}" -H 'Connect-Timeout-Ms: 50'
expect_error 504 deadline_exceeded "WaitInstanceSync past Connect-Timeout-Ms"

# --- commands ---------------------------------------------------------------

run "$a" '["sh","-c","pwd; echo hello-a > note.txt; echo to-err >&2; exit 3"]'
expect_status 200 "RunCommandSync"
[ "$(stdout_of)" = /workspace ] || fail "default cwd is '$(stdout_of)'"
[ "$(stderr_of)" = to-err ] || fail "stderr is '$(stderr_of)'"
expect_json 'd["exitCode"]' 3 "exit code"
run "$a" '["cat","/workspace/note.txt"]'
[ "$(stdout_of)" = hello-a ] || fail "file written by a command not read back"
expect_json '"exitCode" in d and "stderr" not in d' False "zero exit code omitted"
ok
run "$a" '["true"]'
[ "$(cat "$tmp/body")" = '{}' ] || fail "silent success is not {}"
ok
run "$a" '["sh","-c","echo $FROM_CONTAINER $FOO $HOME; pwd"]' \
    ',"envVars":[{"name":"FOO","value":"bar baz"}],"cwd":"/tmp"'
[ "$(stdout_of)" = "c1 bar baz /root
/tmp" ] || fail "env/cwd: '$(stdout_of)'"
ok
run "$a" '["pwd"]' ',"cwd":"/nonexistent"'
expect_json 'd["exitCode"]' 126 "missing cwd"
run "$a" '["/no/such/program"]'
expect_json 'd["exitCode"]' 127 "missing program"
run "$a" '["sh","-c","kill -9 $$"]'
expect_json 'd["exitCode"]' 137 "killed by a signal"
run "$a" '["sh","-c","tail -n +3 /proc/net/dev | wc -l"]'
[ "$(stdout_of | tr -d ' ')" = 1 ] || fail "sandbox has a network besides lo"
ok
run "$a" '["sh","-c","touch /usr/x"]'
[ "$(exit_of)" != 0 ] || fail "/usr is writable"
ok
t0=$(ms)
run "$a" '["sleep","5"]' '' -H 'Connect-Timeout-Ms: 300'
expect_error 504 deadline_exceeded "command past Connect-Timeout-Ms"
[ $(($(ms) - t0)) -lt 3000 ] || fail "the timeout did not stop the command"
ok
# The whole tree goes at the time bound, also what left the command's
# process group or session (setsid, GNU timeout).
tree_marker=3001.$$
run "$a" "[\"sh\",\"-c\",\"setsid sleep $tree_marker & timeout 30 sleep $tree_marker & wait\"]" \
    '' -H 'Connect-Timeout-Ms: 300'
expect_error 504 deadline_exceeded "a command tree past Connect-Timeout-Ms"
tree_left='["sh","-c","for p in /proc/[0-9]*; do tr \"\\\\0\" \" \" <$p/cmdline 2>/dev/null; echo; done | grep -c -e \"^sleep '$tree_marker'\" -e \"^timeout 30 sleep '$tree_marker'\""]'
run "$a" "$tree_left"
[ "$(stdout_of)" = 0 ] || fail "processes of a timed-out command survive: $(stdout_of)"
ok
# A client that hangs up cancels its command (and its tree).
tree_marker=3002.$$
t0=$(ms)
curl -sS -o /dev/null --max-time 1 -H "Authorization: Bearer $NS_FAKE_TOKEN" \
    -H 'Content-Type: application/json' \
    --data-binary "{\"instanceId\":\"$a\",\"targetContainerName\":\"main\",\"command\":{\"command\":[\"sh\",\"-c\",\"setsid sleep $tree_marker & sleep $tree_marker; wait\"]}}" \
    "$NS_FAKE_URL/cmd/$a$CMD" 2>/dev/null
[ $? = 28 ] || fail "the hung-up call did not time out in curl"
sleep 0.5
tree_left='["sh","-c","for p in /proc/[0-9]*; do tr \"\\\\0\" \" \" <$p/cmdline 2>/dev/null; echo; done | grep -c -e \"^sleep '$tree_marker'\" -e \"^timeout 30 sleep '$tree_marker'\""]'
run "$a" "$tree_left"
[ "$(stdout_of)" = 0 ] || fail "a command whose client hung up still runs: $(stdout_of)"
grep -q "RunCommandSync 499\$" "$NS_FAKE_LOG" ||
    fail "the hung-up call is not logged as canceled (499)"
ok
run "$a" '[]'
expect_error 400 invalid_argument "empty argv"
post "$NS_FAKE_URL/cmd/$a$CMD" \
    "{\"instanceId\":\"$a\",\"targetContainerName\":\"nope\",\"command\":{\"command\":[\"true\"]}}"
expect_error 404 not_found "unknown container"
post "$NS_FAKE_URL/cmd/$a$CMD" "{\"instanceId\":\"$a\",\"command\":{\"command\":[\"true\"]}}"
expect_error 400 invalid_argument "no targetContainerName"
post "$NS_FAKE_URL$CMD" \
    "{\"instance_id\":\"$a\",\"target_container_name\":\"main\",\"command\":{\"command\":[\"cat\",\"note.txt\"]}}"
expect_status 200 "RunCommandSync at the API base"
[ "$(stdout_of)" = hello-a ] || fail "command at the API base"
ok
auth='Bearer wrong' post "$NS_FAKE_URL/cmd/$a$CMD" ''
expect_error 401 unauthenticated "command with a wrong token"

# --- isolation between instances ---------------------------------------------

call WaitInstanceSync "{\"instanceId\":\"$slow\"}"
expect_status 200 "second instance ready"
b=$slow
run "$b" '["cat","/workspace/note.txt"]'
expect_status 200 "command in the second instance"
[ "$(exit_of)" = 1 ] || fail "instance B reads instance A's file"
ok
run "$b" '["sh","-c","ls -A /workspace /root; echo b > /tmp/t; echo b-file > mine"]'
[ "$(stdout_of)" = "/root:

/workspace:" ] || fail "instance B sees files: $(stdout_of)"
ok
run "$a" '["sh","-c","cat /tmp/t mine 2>/dev/null; ls"]'
[ "$(stdout_of)" = note.txt ] || fail "instance A sees B's files: $(stdout_of)"
ok
post "$NS_FAKE_URL/cmd/$a$CMD" \
    "{\"instanceId\":\"$b\",\"targetContainerName\":\"main\",\"command\":{\"command\":[\"true\"]}}"
expect_error 404 not_found "instance B through A's endpoint"

# Background processes outlive the command that started them, and stay
# inside their instance.
# A sleep unique to this run, to find it among the host's processes.
marker=3000.$$
run "$a" "[\"sh\",\"-c\",\"nohup sleep $marker >/dev/null 2>&1 & echo started\"]"
[ "$(stdout_of)" = started ] || fail "starting a background process"
ok
sleepers='["sh","-c","for p in /proc/[0-9]*; do tr \"\\\\0\" \" \" <$p/cmdline 2>/dev/null; echo; done | grep -c \"^sleep '$marker'\""]'
run "$a" "$sleepers"
[ "$(stdout_of)" = 1 ] || fail "background process gone: $(stdout_of)"
ok
run "$b" "$sleepers"
[ "$(stdout_of)" = 0 ] || fail "instance B sees A's processes"
ok

# --- ingress -----------------------------------------------------------------

call CreateIngress "{\"instanceId\":\"$a\",\"ingresses\":[{\"name\":\"web\",\"exportedPortBackend\":{\"port\":8080},\"httpMatchRule\":[{\"match\":{},\"doesNotRequireAuth\":true}]},{\"exported_port_backend\":{\"port\":\"9000\"}}]}"
expect_status 200 CreateIngress
expect_json 'd["allocatedIngresses"][0]["name"]' web "ingress name"
expect_json 'd["allocatedIngresses"][0]["fqdn"]' "$a-8080.fake.namespace.test" \
    "ingress fqdn"
expect_json 'd["allocatedIngresses"][1]["name"]' port-9000 "default ingress name"
call ListIngresses "{\"instanceId\":\"$a\"}"
expect_json 'len(d["allocatedIngresses"])' 2 "ListIngresses"
call CreateIngress "{\"instanceId\":\"$a\",\"ingresses\":[{\"exportedPortBackend\":{\"port\":70000}}]}"
expect_error 400 invalid_argument "ingress port out of range"
call CreateIngress "{\"instanceId\":\"$a\",\"ingresses\":[]}"
expect_error 400 invalid_argument "no ingresses"
call CreateIngress '{"instanceId":"nosuch","ingresses":[{"exportedPortBackend":{"port":80}}]}'
expect_error 404 not_found "ingress on an unknown instance"

# --- list ---------------------------------------------------------------------

call ListInstances '{}'
expect_json 'sorted(i["instanceId"] for i in d["instances"]) == sorted(["'"$a"'", "'"$b"'"])' \
    True "ListInstances lists both"
call ListInstances '{"maxEntries":"1"}'
expect_json 'len(d["instances"])' 1 "maxEntries"
cursor=$(json 'd["paginationCursor"]')
call ListInstances "{\"maxEntries\":1,\"paginationCursor\":\"$cursor\"}"
expect_json 'len(d["instances"]) == 1 and "paginationCursor" not in d' True \
    "second page"

# --- destroy -----------------------------------------------------------------

adir=$("$NS_FAKE_PYTHON" -c '
import json, sys, urllib.request
for i in json.load(urllib.request.urlopen(sys.argv[1] + "/_fake/instances")):
    if i["instanceId"] == sys.argv[2]:
        print(i["dir"])' "$NS_FAKE_URL" "$a")
[ -d "$adir/workspace" ] || fail "no instance directory at '$adir'"
ok
call DestroyInstance "{\"instanceId\":\"$a\",\"reason\":\"selftest\"}"
expect_status 200 DestroyInstance
[ "$(cat "$tmp/body")" = '{}' ] || fail "DestroyInstance reply is not {}"
[ ! -e "$adir" ] || fail "destroyed instance's files remain"
ok
host_sleepers() {
    "$NS_FAKE_PYTHON" -c '
import glob, sys
want = b"sleep\x00" + sys.argv[1].encode() + b"\x00"
n = 0
for p in glob.glob("/proc/[0-9]*/cmdline"):
    try:
        n += open(p, "rb").read() == want
    except OSError:
        pass
print(n)' "$marker"
}
[ "$(host_sleepers)" = 0 ] || fail "destroyed instance's processes remain"
ok
call DestroyInstance "{\"instanceId\":\"$a\"}"
expect_status 200 "DestroyInstance again"
call DestroyInstance '{"instanceId":"nosuchinstance"}'
expect_error 404 not_found "DestroyInstance of an unknown id"
call DescribeInstance "{\"instanceId\":\"$a\"}"
expect_json 'd["metadata"]["status"]' DESTROYED "destroyed instance"
expect_json '"destroyedAt" in d["metadata"]' True "destroyedAt"
run "$a" '["true"]'
expect_error 400 failed_precondition "command on a destroyed instance"
call WaitInstanceSync "{\"instanceId\":\"$a\"}"
expect_error 400 failed_precondition "waiting on a destroyed instance"
call WaitInstanceSync "{\"instanceId\":\"$a\",\"destroyedOk\":true}"
expect_json 'd["metadata"]["status"]' DESTROYED "wait with destroyedOk"
call ListIngresses "{\"instanceId\":\"$a\"}"
expect_error 400 failed_precondition "ListIngresses of a destroyed instance"
call ListInstances '{}'
expect_json '[i["instanceId"] for i in d["instances"]]' "[\"$b\"]" \
    "destroyed instance not listed"
call ListInstances '{"includeCompleteRuns":true}'
expect_json 'len(d["instances"])' 2 "includeCompleteRuns"

# --- labels and labelFilter ------------------------------------------------------

create ',"labels":[{"name":"team","value":"x"},{"name":"csdk-name","value":"box"}]'
lab=$id
filter() {
    call ListInstances "{\"labelFilter\":[$1]}"
    expect_status 200 "ListInstances labelFilter $1"
    json '" ".join(i["instanceId"] for i in d.get("instances", []))'
}
[ "$(filter '{"name":"team","value":"x","op":"EQUAL"}')" = "$lab" ] ||
    fail "labelFilter EQUAL"
[ "$(filter '{"name":"team","value":"x","op":1}')" = "$lab" ] ||
    fail "labelFilter op as a number"
[ "$(filter '{"name":"team","value":"y","op":"EQUAL"}')" = "" ] ||
    fail "labelFilter EQUAL, another value"
[ "$(filter '{"name":"team","value":"x","op":"NOT_EQUAL"}')" = "$b" ] ||
    fail "labelFilter NOT_EQUAL (an absent label is not equal)"
[ "$(filter '{"name":"csdk-name","op":"EXIST"}')" = "$lab" ] ||
    fail "labelFilter EXIST"
[ "$(filter '{"name":"team","value":"x","op":"EQUAL"},{"name":"csdk-name","value":"other","op":"EQUAL"}')" = "" ] ||
    fail "labelFilter entries are not all required"
ok
call ListInstances '{"labelFilter":[{"name":"team","value":"x"}]}'
expect_error 400 invalid_argument "labelFilter without op"
call ListInstances '{"labelFilter":[{"value":"x","op":"EQUAL"}]}'
expect_error 400 invalid_argument "labelFilter without name"
call ListInstances '{"notOlderThan":"2999-01-01T00:00:00Z"}'
expect_json 'd' '{}' "notOlderThan in the future"
call CreateInstance '{"shape":{"virtualCpu":1,"memoryMegabytes":512,"machineArch":"amd64"},"labels":[{"name":"Team","value":"x"}]}'
expect_error 400 invalid_argument "label name with an upper-case letter"
call CreateInstance '{"shape":{"virtualCpu":1,"memoryMegabytes":512,"machineArch":"amd64"},"labels":[{"name":"a-","value":"x"}]}'
expect_error 400 invalid_argument "label name ending with a dash"
long=$(printf '%064d' 0 | tr 0 a)
call CreateInstance "{\"shape\":{\"virtualCpu\":1,\"memoryMegabytes\":512,\"machineArch\":\"amd64\"},\"labels\":[{\"name\":\"$long\",\"value\":\"x\"}]}"
expect_error 400 invalid_argument "label name of 64 bytes"
long=$(printf '%0256d' 0)
call CreateInstance "{\"shape\":{\"virtualCpu\":1,\"memoryMegabytes\":512,\"machineArch\":\"amd64\"},\"labels\":[{\"name\":\"v\",\"value\":\"$long\"}]}"
expect_error 400 invalid_argument "label value of 256 bytes"
call DestroyInstance "{\"instanceId\":\"$lab\"}"
expect_status 200 "DestroyInstance of the labelled instance"

# --- deadlines -----------------------------------------------------------------

dl=$(date -u -d "@$(($(date +%s) + 2))" +%Y-%m-%dT%H:%M:%S.000000000Z)
create ",\"deadline\":\"$dl\""
c=$id
expect_json 'd["metadata"]["deadline"]' "$(echo "$dl" | sed 's/\.0*Z$/Z/')" \
    "deadline echoed"
sleep 3
call DescribeInstance "{\"instanceId\":\"$c\"}"
expect_json 'd["metadata"]["status"]' DESTROYED "instance past its deadline"
create
e=$id
status=$(curl -sS -o "$tmp/body" -w '%{http_code}' \
    --data-binary "{\"instance_id\":\"$e\",\"expire\":true}" \
    "$NS_FAKE_URL/_fake/instance")
expect_json 'd["status"]' DESTROYED "/_fake/instance expire"

# ExtendInstance: extendBy moves the deadline, which the fake enforces.
dl=$(date -u -d "@$(($(date +%s) + 2))" +%Y-%m-%dT%H:%M:%SZ)
create ",\"deadline\":\"$dl\""
x=$id
call ExtendInstance "{\"instanceId\":\"$x\",\"extendBy\":\"3s\"}"
expect_status 200 ExtendInstance
secs_after() {
    json "round((__import__('datetime').datetime.fromisoformat(d['newDeadline'].replace('Z', '+00:00')) - __import__('datetime').datetime.fromisoformat('$1'.replace('Z', '+00:00'))).total_seconds(), 3)"
}
[ "$(secs_after "$dl")" = 3.0 ] || fail "extendBy 3s: new deadline $(json 'd')"
ok
call ExtendInstance "{\"instance_id\":\"$x\",\"extend_by\":\"0.5s\"}"
[ "$(secs_after "$dl")" = 3.5 ] || fail "extendBy 0.5s again: $(json 'd')"
ok
call ExtendInstance "{\"instanceId\":\"$x\",\"ensureMinimum\":\"1s\"}"
[ "$(secs_after "$dl")" = 3.5 ] || fail "ensureMinimum shorter than left changed the deadline"
ok
sleep 3
call DescribeInstance "{\"instanceId\":\"$x\"}"
expect_json 'd["metadata"]["status"]' RUNNING "alive past its first deadline"
sleep 3
call DescribeInstance "{\"instanceId\":\"$x\"}"
expect_json 'd["metadata"]["status"]' DESTROYED "destroyed at its extended deadline"
call ExtendInstance "{\"instanceId\":\"$x\",\"extendBy\":\"60s\"}"
expect_error 400 failed_precondition "ExtendInstance of a destroyed instance"
call ExtendInstance '{"instanceId":"nosuchinstance","extendBy":"60s"}'
expect_error 404 not_found "ExtendInstance of an unknown instance"
call ExtendInstance "{\"instanceId\":\"$b\"}"
expect_error 400 invalid_argument "ExtendInstance without a duration"
call ExtendInstance "{\"instanceId\":\"$b\",\"extendBy\":\"60s\",\"ensureMinimum\":\"60s\"}"
expect_error 400 invalid_argument "ExtendInstance with two durations"
call ExtendInstance "{\"instanceId\":\"$b\",\"extendBy\":\"-5s\"}"
expect_error 400 invalid_argument "ExtendInstance by a negative duration"
call ExtendInstance "{\"instanceId\":\"$b\",\"extendBy\":60}"
expect_error 400 invalid_argument "ExtendInstance by a number, not a Duration"
call ExtendInstance "{\"instanceId\":\"$b\",\"newDeadline\":\"2001-01-01T00:00:00Z\"}"
expect_error 400 invalid_argument "ExtendInstance to a past deadline"
ndl=$(date -u -d "@$(($(date +%s) + 7200))" +%Y-%m-%dT%H:%M:%SZ)
call ExtendInstance "{\"instanceId\":\"$b\",\"newDeadline\":\"$ndl\"}"
expect_json 'd["newDeadline"]' "$ndl" "ExtendInstance newDeadline"
status=$(curl -sS -o "$tmp/body" -w '%{http_code}' \
    --data-binary "{\"instance_id\":\"$b\",\"ready_after_ms\":200}" \
    "$NS_FAKE_URL/_fake/instance")
expect_json 'd["status"]' CREATING "/_fake/instance ready_after_ms"
call WaitInstanceSync "{\"instanceId\":\"$b\"}"
expect_json 'd["metadata"]["status"]' RUNNING "ready again"

# --- faults --------------------------------------------------------------------

fault() {
    status=$(curl -sS -o "$tmp/body" -w '%{http_code}' --data-binary "$1" \
        "$NS_FAKE_URL/_fake/fault")
    expect_status 200 "add fault $1"
}
ninstances() {
    curl -sS "$NS_FAKE_URL/_fake/instances" >"$tmp/inst"
    "$NS_FAKE_PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/inst"
}

for k in 401:unauthenticated 403:permission_denied 429:resource_exhausted \
    500:internal 503:unavailable; do
    code=${k%%:*}
    fault "{\"method\":\"DescribeInstance\",\"kind\":\"$code\",\"retry_after\":7}"
    call DescribeInstance "{\"instanceId\":\"$b\"}"
    expect_error "$code" "${k#*:}" "fault $code"
    if [ "$code" = 429 ]; then
        [ "$(header Retry-After)" = 7 ] || fail "429 without Retry-After: 7"
        ok
    fi
    call DescribeInstance "{\"instanceId\":\"$b\"}"
    expect_status 200 "after fault $code (count 1)"
done

# A fault on one method leaves the others alone; count; '*'.
fault '{"method":"CreateInstance","kind":"503","count":2}'
before=$(ninstances)
call ListInstances '{}'
expect_status 200 "other method while CreateInstance faults"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"amd64"}}'
expect_error 503 unavailable "CreateInstance fault 1/2"
call CreateInstance '{"shape":{"virtualCpu":2,"memoryMegabytes":4096,"machineArch":"amd64"}}'
expect_error 503 unavailable "CreateInstance fault 2/2"
[ "$(ninstances)" = "$before" ] || fail "a faulted CreateInstance created an instance"
ok
fault '{"method":"*","kind":"500"}'
run "$b" '["true"]'
expect_error 500 internal "'*' fault on RunCommandSync"
fault '{"method":"*","kind":"403","count":0}'
call ListInstances '{}'
expect_error 403 permission_denied "unlimited fault 1"
call ListInstances '{}'
expect_error 403 permission_denied "unlimited fault 2"
status=$(curl -sS -o "$tmp/body" -w '%{http_code}' -X POST \
    "$NS_FAKE_URL/_fake/reset")
expect_status 200 "/_fake/reset"
call ListInstances '{}'
expect_status 200 "after reset"
status=$(curl -sS -o "$tmp/body" -w '%{http_code}' \
    --data-binary '{"kind":"teapot"}' "$NS_FAKE_URL/_fake/fault")
expect_status 400 "unknown fault kind"

# slow
fault '{"method":"DescribeInstance","kind":"slow","delay_ms":700}'
t0=$(ms)
call DescribeInstance "{\"instanceId\":\"$b\"}"
expect_status 200 "slow fault"
[ $(($(ms) - t0)) -ge 650 ] || fail "slow fault answered after $(($(ms) - t0)) ms"
ok

# truncated: curl reports a partial transfer (18).
fault '{"method":"DescribeInstance","kind":"truncated"}'
curl -sS -o "$tmp/body" -D "$tmp/hdr" -H "Authorization: Bearer $NS_FAKE_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "{\"instanceId\":\"$b\"}" \
    "$NS_FAKE_URL$CS/DescribeInstance" 2>/dev/null
rc=$?
[ "$rc" = 18 ] || fail "truncated fault: curl exit $rc, expected 18"
len=$(header Content-Length)
[ "$(wc -c <"$tmp/body")" -lt "$len" ] || fail "truncated body is complete"
ok

# badjson: a whole 200 reply (Content-Length right) whose JSON stops
# mid-object.
fault '{"method":"DescribeInstance","kind":"badjson"}'
call DescribeInstance "{\"instanceId\":\"$b\"}"
expect_status 200 "badjson fault"
[ "$(wc -c <"$tmp/body")" = "$(header Content-Length)" ] ||
    fail "badjson body does not match its Content-Length"
"$NS_FAKE_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' \
    "$tmp/body" 2>/dev/null && fail "badjson body is valid JSON"
ok

# nonjson
fault '{"method":"DescribeInstance","kind":"nonjson"}'
call DescribeInstance "{\"instanceId\":\"$b\"}"
expect_status 200 "nonjson fault"
header Content-Type | grep -q '^text/html' || fail "nonjson is not text/html"
[ "$(head -c 1 "$tmp/body")" = '<' ] || fail "nonjson body is not HTML"
ok

# huge
fault '{"method":"ListInstances","kind":"huge"}'
call ListInstances '{}'
expect_status 200 "huge fault"
[ "$(wc -c <"$tmp/body")" = 67108864 ] || fail "huge body is $(wc -c <"$tmp/body") bytes"
expect_json 'len(d["padding"]) > 60000000' True "huge body is JSON"

# not_ready: only CreateInstance consumes it.
fault '{"method":"*","kind":"not_ready","ready_after_ms":600}'
call ListInstances '{}'
expect_status 200 "not_ready leaves other calls alone"
t0=$(ms)
create
nr=$id
expect_json 'd["metadata"]["status"]' CREATING "not_ready instance"
run "$nr" '["true"]'
expect_error 400 failed_precondition "command before readiness"
call WaitInstanceSync "{\"instanceId\":\"$nr\"}"
expect_json 'd["metadata"]["status"]' RUNNING "not_ready instance becomes ready"
[ $(($(ms) - t0)) -ge 550 ] || fail "not_ready instance ready after $(($(ms) - t0)) ms"
ok

# --- the request log -------------------------------------------------------------

curl -sS "$NS_FAKE_URL/_fake/requests" >"$tmp/body"
expect_json 'all(set(r) >= {"seq","method","path","rpc","auth","body","status","fault"} for r in d)' \
    True "request log entries"
expect_json 'sum(1 for r in d if r["rpc"] == "CreateInstance" and r["status"] == 200)' \
    7 "successful CreateInstance calls logged"
expect_json 'sum(1 for r in d if r["fault"] == "503" and r["rpc"] == "CreateInstance")' \
    2 "faulted CreateInstance calls logged"
expect_json 'd[0]["auth"]' False "request without Authorization logged"
expect_json '[r["body"]["documentedPurpose"] for r in d if r["rpc"] == "CreateInstance" and r["status"] == 200][0]' \
    selftest "request body logged"
grep -qF "$NS_FAKE_TOKEN" "$tmp/body" && fail "the request log holds the token"
ok
curl -sS -X POST "$NS_FAKE_URL/_fake/reset?requests=1" >/dev/null
curl -sS "$NS_FAKE_URL/_fake/requests" >"$tmp/body"
[ "$(cat "$tmp/body")" = '[]' ] || fail "reset?requests=1 left the log"
ok

# --- the fake's log, and stopping it ---------------------------------------------

grep -q "^POST $CS/CreateInstance 200\$" "$NS_FAKE_LOG" ||
    fail "the fake does not log one line per request"
grep -qF "$NS_FAKE_TOKEN" "$NS_FAKE_LOG" && fail "the fake logged the token"
ok
pid=$NS_FAKE_PID
state=$NS_FAKE_STATE
fake_stop
kill -0 "$pid" 2>/dev/null && fail "fake_stop left the fake running"
[ ! -e "$state" ] || fail "fake_stop left $state"
fake_stop
ok

echo "PASS: $checks checks"
