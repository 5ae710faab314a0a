#!/usr/bin/python3
"""A local fake of Namespace cloud's compute API (Connect JSON over HTTP).

Implements the surface described in tests/namespace/API.md: the
ComputeService calls the namespace provider uses, the CommandService's
RunCommandSync (commands really run, each instance in its own bubblewrap
sandbox), and a control surface under /_fake/ for fault injection and for
inspecting what clients sent.

    python3 fake_namespace.py --port 0 --state DIR [--token TOKEN]
                              [--ready-after-ms N] [--host 127.0.0.1]

The first line on stdout is "PORT <n>".  One line per request goes to
stderr.  The bearer token is never logged or echoed.

Python 3 standard library only.
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import posixpath
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse

PKG = "namespace.cloud.compute.v1beta"
COMPUTE_PREFIX = "/%s.ComputeService/" % PKG
COMMAND_PATH = "/%s.CommandService/RunCommandSync" % PKG
COMPUTE_METHODS = (
    "CreateInstance",
    "DescribeInstance",
    "ListInstances",
    "DestroyInstance",
    "WaitInstanceSync",
    "ExtendInstance",
    "CreateIngress",
    "ListIngresses",
)
ALL_RPCS = COMPUTE_METHODS + ("RunCommandSync",)

# Connect code -> HTTP status (Connect protocol specification).
HTTP_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 404,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}

FAULT_KINDS = ("401", "403", "429", "500", "503", "slow", "truncated",
               "badjson", "nonjson", "huge", "not_ready")
FAULT_ERRORS = {
    "401": ("unauthenticated", "invalid or expired token"),
    "403": ("permission_denied", "the token does not grant this action"),
    "429": ("resource_exhausted", "too many requests; try again later"),
    "500": ("internal", "internal error"),
    "503": ("unavailable", "service temporarily unavailable"),
}
HUGE_BYTES = 64 * 1024 * 1024

STATUS_CREATING = "CREATING"
STATUS_RUNNING = "RUNNING"
STATUS_DESTROYED = "DESTROYED"

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMMAND_CAP_S = 60.0
WAIT_CAP_S = 60.0
DEFAULT_LIFETIME_S = 3600.0
# namespace.stdlib.Label (proto): a name is up to 63 bytes matching this
# expression; a value is up to 255 bytes.
LABEL_NAME_RE = re.compile(r"^[a-z]([a-z0-9-.]*[a-z0-9])?$")
LABEL_NAME_MAX = 63
LABEL_VALUE_MAX = 255
# namespace.stdlib.LabelFilterEntry.LabelFilterOp (proto).
FILTER_OPS = {1: "EQUAL", 2: "NOT_EQUAL", 3: "EXIST"}
# google.protobuf.Duration in JSON: seconds with up to 9 fractional
# digits and an "s" suffix, within +-315576000000 s.
DURATION_RE = re.compile(r"^(-?)(\d+)(\.\d{1,9})?s$")
DURATION_MAX_S = 315576000000
INGRESS_DOMAIN = "fake.namespace.test"


class RpcError(Exception):
    """A Connect error reply."""

    def __init__(self, code, message, headers=None):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.headers = headers or {}


# ---------------------------------------------------------------------------
# Small helpers: time, JSON field access.

def now():
    return time.time()


def fmt_ts(t):
    """RFC 3339 UTC with 0, 3 or 6 fractional digits, as protojson does."""
    dt = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    us = dt.microsecond
    if us == 0:
        return base + "Z"
    if us % 1000 == 0:
        return "%s.%03dZ" % (base, us // 1000)
    return "%s.%06dZ" % (base, us)


TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?"
    r"([Zz]|[+-]\d{2}:\d{2})$")


def parse_ts(value, field):
    if not isinstance(value, str):
        raise RpcError("invalid_argument",
                       "%s: a timestamp must be an RFC 3339 string" % field)
    m = TS_RE.match(value)
    if not m:
        raise RpcError("invalid_argument",
                       "%s: %r is not an RFC 3339 timestamp" % (field, value))
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        dt = datetime.datetime(y, mo, d, h, mi, s,
                               tzinfo=datetime.timezone.utc)
    except ValueError:
        raise RpcError("invalid_argument",
                       "%s: %r is not a valid time" % (field, value))
    t = dt.timestamp()
    if m.group(7):
        t += float("0" + m.group(7))
    off = m.group(8)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        t -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return t


def camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def field(obj, name):
    """Value of proto field NAME (snake_case) under either JSON name."""
    if not isinstance(obj, dict):
        return None
    c = camel(name)
    if c in obj and obj[c] is not None:
        return obj[c]
    return obj.get(name)


def get_str(obj, name, where, required=False):
    v = field(obj, name)
    if v is None:
        v = ""
    if not isinstance(v, str):
        raise RpcError("invalid_argument",
                       "%s%s: must be a string" % (where, camel(name)))
    if required and not v:
        raise RpcError("invalid_argument",
                       "%s%s is required" % (where, camel(name)))
    return v


def get_int(obj, name, where, default=0):
    v = field(obj, name)
    if v is None:
        return default
    if isinstance(v, bool):
        raise RpcError("invalid_argument",
                       "%s%s: must be an integer" % (where, camel(name)))
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v == int(v):
        return int(v)
    if isinstance(v, str) and re.match(r"^-?\d+$", v):
        return int(v)
    raise RpcError("invalid_argument",
                   "%s%s: must be an integer" % (where, camel(name)))


def get_bool(obj, name, where):
    v = field(obj, name)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise RpcError("invalid_argument",
                       "%s%s: must be a boolean" % (where, camel(name)))
    return v


def get_obj(obj, name, where):
    v = field(obj, name)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise RpcError("invalid_argument",
                       "%s%s: must be an object" % (where, camel(name)))
    return v


def get_list(obj, name, where):
    v = field(obj, name)
    if v is None:
        return []
    if not isinstance(v, list):
        raise RpcError("invalid_argument",
                       "%s%s: must be a list" % (where, camel(name)))
    return v


def env_list(items, where):
    """[{name, value}] -> [(name, value)]."""
    out = []
    for i, e in enumerate(items):
        w = "%s[%d]." % (where, i)
        if not isinstance(e, dict):
            raise RpcError("invalid_argument", w[:-1] + ": must be an object")
        name = get_str(e, "name", w, required=True)
        if "=" in name or "\0" in name:
            raise RpcError("invalid_argument", w + "name: invalid variable name")
        value = get_str(e, "value", w)
        if "\0" in value:
            raise RpcError("invalid_argument", w + "value: contains NUL")
        out.append((name, value))
    return out


def parse_duration(value, field_name):
    """A google.protobuf.Duration in JSON ("90s", "1.5s") -> seconds."""
    m = DURATION_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise RpcError("invalid_argument",
                       "%s: %r is not a duration (seconds with an \"s\" "
                       "suffix, e.g. \"90s\")" % (field_name, value))
    secs = int(m.group(2))
    if secs > DURATION_MAX_S:
        raise RpcError("invalid_argument",
                       "%s: %r is out of range" % (field_name, value))
    t = secs + (float("0" + m.group(3)) if m.group(3) else 0.0)
    return -t if m.group(1) else t


def label_list(items, where):
    """[{name, value}] -> [(name, value)], checked as namespace.stdlib.Label
    documents labels: names of at most 63 bytes matching LABEL_NAME_RE,
    values of at most 255 bytes."""
    out = []
    for i, lab in enumerate(items):
        w = "%s[%d]." % (where, i)
        if not isinstance(lab, dict):
            raise RpcError("invalid_argument", w[:-1] + ": must be an object")
        name = get_str(lab, "name", w, required=True)
        value = get_str(lab, "value", w)
        if len(name.encode()) > LABEL_NAME_MAX or \
                not LABEL_NAME_RE.match(name):
            raise RpcError("invalid_argument",
                           "%sname: %r is not a label name (at most %d "
                           "bytes of a-z, 0-9, '-' and '.', starting with a "
                           "letter, ending with a letter or digit)"
                           % (w, name, LABEL_NAME_MAX))
        if len(value.encode("utf-8", "surrogatepass")) > LABEL_VALUE_MAX:
            raise RpcError("invalid_argument",
                           "%svalue: longer than %d bytes"
                           % (w, LABEL_VALUE_MAX))
        out.append((name, value))
    return out


def label_filter(items):
    """ListInstancesRequest.labelFilter -> [(name, value, op name)]."""
    out = []
    for i, f in enumerate(items):
        w = "labelFilter[%d]." % i
        if not isinstance(f, dict):
            raise RpcError("invalid_argument", w[:-1] + ": must be an object")
        name = get_str(f, "name", w, required=True)
        value = get_str(f, "value", w)
        op = field(f, "op")
        if isinstance(op, str) and op in FILTER_OPS.values():
            pass
        elif isinstance(op, int) and not isinstance(op, bool) and \
                op in FILTER_OPS:
            op = FILTER_OPS[op]
        else:
            # UNKNOWN (0, or no op at all) names no comparison (chosen).
            raise RpcError("invalid_argument",
                           "%sop: must be EQUAL, NOT_EQUAL or EXIST" % w)
        out.append((name, value, op))
    return out


def filter_matches(filters, labels):
    """Every entry must hold (chosen: the entries are ANDed).  NOT_EQUAL
    also holds when the label is absent (chosen)."""
    have = dict(labels)
    for name, value, op in filters:
        if op == "EXIST" and name not in have:
            return False
        if op == "EQUAL" and have.get(name) != value:
            return False
        if op == "NOT_EQUAL" and have.get(name) == value:
            return False
    return True


def prune(obj):
    """Drop zero values, as proto3 JSON does by default."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = prune(v)
            if v is None or v == "" or v == 0 or v is False or v == [] \
                    or v == {}:
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [prune(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------
# State.

class Instance(object):
    def __init__(self, iid, state_dir, created, ready_time, deadline, req):
        self.id = iid
        self.created = created
        self.ready_time = ready_time   # when it becomes RUNNING
        self.ready_at = None
        self.deadline = deadline
        self.destroyed_at = None
        self.status = STATUS_CREATING
        self.purpose = req["purpose"]
        self.shape = req["shape"]
        self.labels = req["labels"]
        self.containers = req["containers"]   # list of dicts
        self.ingresses = {}                   # port -> {name, fqdn}
        self.dir = os.path.join(state_dir, "instances", iid)
        self.procs = set()
        self.sandbox = None         # the long-lived bwrap, if any
        self.sandbox_pid = None     # its pid 1, for nsenter
        self.sandbox_hold = None    # write end of the pipe keeping it up

    def container(self, name):
        for c in self.containers:
            if c["name"] == name:
                return c
        return None

    def metadata(self):
        md = {
            "instanceId": self.id,
            "createdAt": fmt_ts(self.created),
            "deadline": fmt_ts(self.deadline),
            "documentedPurpose": self.purpose,
            "shape": dict(self.shape),
            "status": self.status,
            "labels": [dict(name=n, value=v) for n, v in self.labels],
            "ingressDomain": "%s.%s" % (self.id, INGRESS_DOMAIN),
        }
        if self.ready_at is not None:
            md["readyAt"] = fmt_ts(self.ready_at)
        if self.destroyed_at is not None:
            md["destroyedAt"] = fmt_ts(self.destroyed_at)
        return md

    def describe(self, base_url):
        containers = []
        for c in self.containers:
            ports = []
            for p in c["ports"]:
                ports.append({
                    "proto": p["proto"],
                    "containerPort": p["port"],
                    "exportedPort": p["port"],
                    "fqdn": "%s-%d.%s" % (self.id, p["port"], INGRESS_DOMAIN),
                })
            containers.append({
                "id": "%s-%s" % (self.id, c["name"]),
                "name": c["name"],
                "exportedPort": ports,
            })
        return prune({
            "instanceUrl": "https://cloud.namespace.so/fake/instance/%s"
                           % self.id,
            "metadata": self.metadata(),
            "extendedMetadata": {
                "commandServiceEndpoint": "%s/cmd/%s" % (base_url, self.id),
            },
            "containers": containers,
        })

    def dump(self):
        return {
            "instanceId": self.id,
            "status": self.status,
            "createdAt": fmt_ts(self.created),
            "readyAt": fmt_ts(self.ready_at) if self.ready_at else None,
            "destroyedAt":
                fmt_ts(self.destroyed_at) if self.destroyed_at else None,
            "deadline": fmt_ts(self.deadline),
            "containers": [c["name"] for c in self.containers],
            "ingresses": [dict(port=p, **v)
                          for p, v in sorted(self.ingresses.items())],
            "dir": self.dir,
        }


class State(object):
    def __init__(self, state_dir, token, ready_after_ms):
        self.dir = state_dir
        self.token = token
        self.ready_after_ms = ready_after_ms
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.instances = {}         # id -> Instance, in creation order
        self.faults = []
        self.fault_seq = 0
        self.requests = []
        self.req_seq = 0
        self.base_url = None
        self.bwrap = False          # bubblewrap works here
        self.persistent = False     # ... and nsenter: one sandbox/instance

    # All below with self.lock held.

    def refresh(self, t=None):
        """Advance lifecycles: readiness and deadlines."""
        t = now() if t is None else t
        changed = False
        for inst in self.instances.values():
            if inst.status == STATUS_DESTROYED:
                continue
            if t >= inst.deadline:
                self._destroy(inst, inst.deadline)
                changed = True
            elif inst.status == STATUS_CREATING and t >= inst.ready_time:
                inst.status = STATUS_RUNNING
                inst.ready_at = max(inst.ready_time, inst.created)
                changed = True
        if changed:
            self.cond.notify_all()

    def _destroy(self, inst, at):
        inst.status = STATUS_DESTROYED
        inst.destroyed_at = at
        for p in list(inst.procs):
            kill_tree(p)
        stop_sandbox(inst)
        shutil.rmtree(inst.dir, ignore_errors=True)
        self.cond.notify_all()

    def lookup(self, iid):
        self.refresh()
        inst = self.instances.get(iid)
        if inst is None:
            raise RpcError("not_found", "instance %r not found" % iid)
        return inst

    def take_fault(self, rpc):
        for f in self.faults:
            if f["method"] not in ("*", rpc):
                continue
            if f["kind"] == "not_ready" and rpc != "CreateInstance":
                continue
            if f["count"] > 0:
                f["count"] -= 1
                if f["count"] == 0:
                    self.faults.remove(f)
            return dict(f)
        return None


def children_map():
    """{parent pid: [child pids]} for every process on the host."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and ")".
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def descendants(pid):
    kids, out, todo = children_map(), [], [pid]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def signal_all(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass


def kill_tree(proc):
    """Kill PROC and every process descended from it, whatever process
    group or session they moved to (GNU timeout, setsid, a shell's
    background jobs): the command's whole tree inside the instance.  The
    tree is frozen first (SIGSTOP, again for processes forked meanwhile)
    so that nothing escapes by forking while it is killed.  Processes the
    command left behind earlier and that were re-parented to the
    sandbox's init are no longer in the tree and keep running."""
    frozen = set()
    for _ in range(20):
        new = [p for p in [proc.pid] + descendants(proc.pid)
               if p not in frozen]
        if not new:
            break
        signal_all(new, signal.SIGSTOP)
        frozen.update(new)
    signal_all(frozen, signal.SIGKILL)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


class ClientWatch(object):
    """While a command runs: if the client of handler H closes its
    connection, kill the command's tree (a Connect server cancels the
    handler's context when the client goes away).  stop() ends the watch
    once the command has finished: after it, nothing is killed."""

    def __init__(self, h, proc):
        self.sock = h.connection
        self.proc = proc
        self.lock = threading.Lock()
        self.done = False
        self.gone = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def hung_up(self):
        try:
            ready, _, _ = select.select([self.sock], [], [], 0.1)
        except (OSError, ValueError):
            return None  # no socket to watch
        if not ready:
            return False
        try:
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return None if data else True  # data: pipelining, not a hang-up

    def run(self):
        while True:
            with self.lock:
                if self.done:
                    return
            h = self.hung_up()
            if h is None:
                return
            if not h:
                continue
            with self.lock:
                if not self.done:
                    self.gone = True
                    kill_tree(self.proc)
            return

    def stop(self):
        with self.lock:
            self.done = True
        return self.gone


STATE = None


def reaper():
    while True:
        time.sleep(0.05)
        with STATE.lock:
            STATE.refresh()


# ---------------------------------------------------------------------------
# Commands.

def bwrap_works():
    if not shutil.which("bwrap"):
        return False
    cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--ro-bind", "/usr",
           "/usr"] + root_links() + ["--proc", "/proc", "--dev", "/dev",
                                     "--", "/bin/true"]
    try:
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=20)
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def root_links():
    """bwrap arguments recreating the host's /bin, /lib... (read-only)."""
    args = []
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = "/" + name
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    return args


# Runs inside the sandbox: change to the command's directory, then exec
# the argv, with a shell's exit codes (126: cannot cd or execute, 127: not
# found).
WRAPPER = 'cd "$1" || exit 126; shift; exec "$@"'


def sandbox_args(inst):
    """bwrap arguments for INST's filesystem and namespaces."""
    return (["bwrap", "--new-session", "--unshare-pid", "--unshare-net",
             "--unshare-ipc", "--unshare-uts", "--hostname", inst.id,
             "--ro-bind", "/usr", "/usr"] + root_links() +
            ["--ro-bind", "/etc", "/etc",
             "--bind", os.path.join(inst.dir, "workspace"), "/workspace",
             "--bind", os.path.join(inst.dir, "tmp"), "/tmp",
             "--bind", os.path.join(inst.dir, "root"), "/root",
             "--proc", "/proc", "--dev", "/dev", "--chdir", "/"])


# The sandbox's first process: says it is up, then waits for EOF on the
# pipe the server holds, then kills everything left in the sandbox (bwrap's
# pid 1 only exits once it has no children left).
SANDBOX_INIT = "echo ready; cat; kill -s KILL -- -1"


def start_sandbox(inst):
    """Start INST's long-lived sandbox: a bwrap whose init waits on a pipe.

    Commands enter it with nsenter, so processes they leave in the
    background keep running, as in a container.  The server holds the
    pipe's write end: when it closes (DestroyInstance, or the server
    exiting in any way), the sandbox's init sees EOF and everything in
    the sandbox dies with it.  Returns True when the sandbox is up.
    """
    hold_r, hold_w = os.pipe()
    info_r, info_w = os.pipe()
    try:
        proc = subprocess.Popen(
            sandbox_args(inst) + ["--info-fd", str(info_w), "--",
                                  "/bin/sh", "-c", SANDBOX_INIT],
            stdin=hold_r, stdout=subprocess.PIPE, stderr=None,
            pass_fds=(info_w,), start_new_session=True, env={})
    except OSError as e:
        for fd in (hold_r, hold_w, info_r, info_w):
            os.close(fd)
        sys.stderr.write("fake_namespace: cannot start a sandbox: %s\n" % e)
        return False
    os.close(hold_r)
    os.close(info_w)
    info = b""
    end = now() + 20
    while now() < end:
        ready, _, _ = select.select([info_r], [], [], max(0, end - now()))
        if not ready:
            break
        chunk = os.read(info_r, 4096)
        if not chunk:
            break
        info += chunk
    os.close(info_r)
    line = b""
    try:
        pid = int(json.loads(info)["child-pid"])
        ready, _, _ = select.select([proc.stdout], [], [],
                                    max(0.1, end - now()))
        if ready:
            line = proc.stdout.readline()
    except (ValueError, KeyError, TypeError):
        pid = None
    proc.stdout.close()
    if pid is None or line != b"ready\n":
        os.close(hold_w)
        proc.kill()
        proc.wait()
        sys.stderr.write("fake_namespace: sandbox for %s did not start\n"
                         % inst.id)
        return False
    inst.sandbox = proc
    inst.sandbox_pid = pid
    inst.sandbox_hold = hold_w
    return True


def stop_sandbox(inst):
    if inst.sandbox is None:
        return
    os.close(inst.sandbox_hold)
    for pid in (inst.sandbox_pid, inst.sandbox.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        inst.sandbox.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    inst.sandbox = None


def command_argv(inst, argv, cwd):
    """-> (argv to run on the host, whether it is sandboxed)."""
    wrapped = ["/bin/sh", "-c", WRAPPER, "sh", cwd] + argv
    if inst.sandbox is not None:
        return (["nsenter", "-t", str(inst.sandbox_pid), "-m", "-u", "-i",
                 "-n", "-p", "-r", "-w", "--"] + wrapped, True)
    if STATE.bwrap:
        return (sandbox_args(inst) + ["--die-with-parent", "--"] + wrapped,
                True)
    # No bubblewrap: a plain process, /workspace, /tmp and /root mapped to
    # the instance's directories in the cwd only.
    host_cwd = cwd
    for prefix in ("/workspace", "/tmp", "/root"):
        if cwd == prefix or cwd.startswith(prefix + "/"):
            host_cwd = os.path.join(inst.dir, prefix[1:]) + cwd[len(prefix):]
    return (["/bin/sh", "-c", WRAPPER, "sh", host_cwd] + argv, False)


def run_command(h, inst, argv, env, cwd, budget):
    """Run ARGV for INST.  Returns (stdout, stderr, exit code).  Past
    BUDGET, or when the client hangs up, the command's whole tree is
    killed."""
    cmd, sandboxed = command_argv(inst, argv, cwd)
    env = dict(env)
    if not sandboxed:
        env["HOME"] = os.path.join(inst.dir, "root")
        env["TMPDIR"] = os.path.join(inst.dir, "tmp")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd="/",
                                start_new_session=True)
    except OSError as e:
        raise RpcError("internal", "could not start the command: %s" % e)
    with STATE.lock:
        inst.procs.add(proc)
    watch = ClientWatch(h, proc)
    try:
        out, err = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        watch.stop()
        kill_tree(proc)
        proc.kill()
        proc.communicate()
        raise RpcError("deadline_exceeded",
                       "the command did not finish within %.3gs" % budget)
    finally:
        gone = watch.stop()
        with STATE.lock:
            inst.procs.discard(proc)
    if gone:
        raise RpcError("canceled", "the client closed the call")
    rc = proc.returncode
    if rc < 0:
        rc = 128 - rc
    if sandboxed and rc == 1 and not out and \
            (err.startswith(b"nsenter: ") or err.startswith(b"bwrap: ")):
        with STATE.lock:
            gone = inst.status != STATUS_RUNNING
        if gone:
            raise RpcError("failed_precondition",
                           "instance %s is no longer running" % inst.id)
        raise RpcError("internal", "sandbox failed: %s"
                       % err.decode("utf-8", "replace").strip())
    return out, err, rc


# ---------------------------------------------------------------------------
# The RPCs.  Each takes (handler, body) and returns a reply dict.

def parse_shape(req):
    shape = get_obj(req, "shape", "")
    if shape is None:
        raise RpcError("invalid_argument", "shape is required")
    cpu = get_int(shape, "virtual_cpu", "shape.")
    mem = get_int(shape, "memory_megabytes", "shape.")
    arch = get_str(shape, "machine_arch", "shape.")
    os_ = get_str(shape, "os", "shape.") or "linux"
    if cpu <= 0:
        raise RpcError("invalid_argument",
                       "shape.virtualCpu must be a positive integer")
    if mem <= 0:
        raise RpcError("invalid_argument",
                       "shape.memoryMegabytes must be a positive integer")
    if arch not in ("amd64", "arm64"):
        raise RpcError("invalid_argument",
                       "shape.machineArch must be \"amd64\" or \"arm64\"")
    if os_ not in ("linux", "macos"):
        raise RpcError("invalid_argument",
                       "shape.os must be \"linux\" or \"macos\"")
    return {"virtualCpu": cpu, "memoryMegabytes": mem, "machineArch": arch,
            "os": os_}


def parse_container(c, i):
    w = "containers[%d]." % i
    if not isinstance(c, dict):
        raise RpcError("invalid_argument", w[:-1] + ": must be an object")
    name = get_str(c, "name", w, required=True)
    if "/" in name:
        raise RpcError("invalid_argument", w + "name: invalid name")
    get_str(c, "image_ref", w)
    for a in get_list(c, "args", w):
        if not isinstance(a, str):
            raise RpcError("invalid_argument", w + "args: must be strings")
    env = []
    envmap = get_obj(c, "environment", w) or {}
    for k, v in envmap.items():
        if not isinstance(v, str):
            raise RpcError("invalid_argument",
                           w + "environment: values must be strings")
        if not k or "=" in k or "\0" in k or "\0" in v:
            raise RpcError("invalid_argument",
                           w + "environment: invalid variable %r" % k)
        env.append((k, v))
    env += env_list(get_list(c, "env_vars", w), w + "envVars")
    ports = []
    for j, p in enumerate(get_list(c, "export_ports", w)):
        pw = "%sexportPorts[%d]." % (w, j)
        if not isinstance(p, dict):
            raise RpcError("invalid_argument", pw[:-1] + ": must be an object")
        port = get_int(p, "container_port", pw)
        if not 1 <= port <= 65535:
            raise RpcError("invalid_argument",
                           pw + "containerPort must be in 1..65535")
        proto = field(p, "proto")
        if proto in (None, 0, "PROTO_UNKNOWN"):
            proto = ""
        elif proto in (1, "HTTP"):
            proto = "HTTP"
        elif proto in (2, "TCP"):
            proto = "TCP"
        else:
            raise RpcError("invalid_argument", pw + "proto: invalid value")
        ports.append({"port": port, "proto": proto,
                      "name": get_str(p, "name", pw)})
    return {"name": name, "env": env, "ports": ports}


def rpc_create_instance(h, req, fault):
    shape = parse_shape(req)
    purpose = get_str(req, "documented_purpose", "")
    labels = label_list(get_list(req, "labels", ""), "labels")
    containers = []
    for i, c in enumerate(get_list(req, "containers", "")):
        pc = parse_container(c, i)
        if any(x["name"] == pc["name"] for x in containers):
            raise RpcError("invalid_argument",
                           "containers[%d].name: duplicate name %r"
                           % (i, pc["name"]))
        containers.append(pc)
    if containers and shape["os"] != "linux":
        raise RpcError("invalid_argument",
                       "containers are only supported on linux")
    t = now()
    dl = field(req, "deadline")
    if dl is None:
        deadline = t + DEFAULT_LIFETIME_S
    else:
        deadline = parse_ts(dl, "deadline")
        if deadline <= t:
            raise RpcError("invalid_argument", "deadline is in the past")
    ready_ms = STATE.ready_after_ms
    if fault is not None and fault["kind"] == "not_ready":
        ready_ms = fault.get("ready_after_ms", 5000)
    with STATE.lock:
        while True:
            iid = "".join(secrets.choice("0123456789abcdefghijklmnopqrstuv"
                                         "wxyz") for _ in range(13))
            if iid not in STATE.instances:
                break
    inst = Instance(iid, STATE.dir, t, t + ready_ms / 1000.0, deadline,
                    {"purpose": purpose, "shape": shape, "labels": labels,
                     "containers": containers})
    for sub, mode in (("workspace", 0o755), ("tmp", 0o1777),
                      ("root", 0o700)):
        p = os.path.join(inst.dir, sub)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
    if STATE.persistent:
        start_sandbox(inst)
    with STATE.lock:
        STATE.instances[iid] = inst
        STATE.refresh()
        return inst.describe(STATE.base_url)


def rpc_describe_instance(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    with STATE.lock:
        return STATE.lookup(iid).describe(STATE.base_url)


def rpc_wait_instance_sync(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    destroyed_ok = get_bool(req, "destroyed_ok", "")
    get_str(req, "container_id", "")
    get_str(req, "container_name", "")
    budget = h.budget(WAIT_CAP_S)
    end = now() + budget
    with STATE.lock:
        inst = STATE.lookup(iid)
        while True:
            STATE.refresh()
            if inst.status == STATUS_RUNNING:
                return prune({"metadata": inst.metadata()})
            if inst.status == STATUS_DESTROYED:
                if destroyed_ok:
                    return prune({"metadata": inst.metadata()})
                raise RpcError("failed_precondition",
                               "instance %s was destroyed" % iid)
            left = end - now()
            if left <= 0:
                raise RpcError("deadline_exceeded",
                               "instance %s is not running yet" % iid)
            STATE.cond.wait(min(left, 0.05))


def rpc_list_instances(h, req, fault):
    max_entries = get_int(req, "max_entries", "")
    include_complete = get_bool(req, "include_complete_runs", "")
    cursor = get_str(req, "pagination_cursor", "")
    filters = label_filter(get_list(req, "label_filter", ""))
    not_older = field(req, "not_older_than")
    if not_older is not None:
        not_older = parse_ts(not_older, "notOlderThan")
    start = 0
    if cursor:
        try:
            start = int(base64.b64decode(cursor, validate=True).decode())
        except (ValueError, UnicodeDecodeError):
            raise RpcError("invalid_argument", "invalid paginationCursor")
    with STATE.lock:
        STATE.refresh()
        insts = [i for i in STATE.instances.values()
                 if (include_complete or i.status != STATUS_DESTROYED) and
                 filter_matches(filters, i.labels) and
                 (not_older is None or i.created >= not_older)]
        page = insts[start:]
        more = None
        if max_entries > 0 and len(page) > max_entries:
            page = page[:max_entries]
            more = base64.b64encode(
                str(start + max_entries).encode()).decode()
        return prune({"instances": [i.metadata() for i in page],
                      "paginationCursor": more})


def rpc_destroy_instance(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    get_str(req, "reason", "")
    with STATE.lock:
        inst = STATE.lookup(iid)
        if inst.status != STATUS_DESTROYED:
            STATE._destroy(inst, now())
    return {}


def rpc_extend_instance(h, req, fault):
    """ExtendInstance: exactly one of extendBy (the deadline moves later by
    it), ensureMinimum (the deadline becomes at least now + it) and
    newDeadline (the deadline becomes it) -- the proto documents the three
    fields, not how they combine: one at a time is chosen."""
    iid = get_str(req, "instance_id", "", required=True)
    given = [(n, field(req, n)) for n in ("extend_by", "ensure_minimum",
                                           "new_deadline")]
    given = [(n, v) for n, v in given if v is not None]
    if len(given) != 1:
        raise RpcError("invalid_argument",
                       "give exactly one of extendBy, ensureMinimum and "
                       "newDeadline")
    name, value = given[0]
    t = now()
    if name == "new_deadline":
        wanted = parse_ts(value, "newDeadline")
        if wanted <= t:
            raise RpcError("invalid_argument", "newDeadline is in the past")
    else:
        d = parse_duration(value, camel(name))
        if d <= 0:
            raise RpcError("invalid_argument",
                           "%s must be positive" % camel(name))
    with STATE.lock:
        inst = STATE.lookup(iid)
        if inst.status == STATUS_DESTROYED:
            raise RpcError("failed_precondition",
                           "instance %s is already terminated" % iid)
        if name == "extend_by":
            inst.deadline += d
        elif name == "ensure_minimum":
            inst.deadline = max(inst.deadline, t + d)
        else:
            inst.deadline = wanted
        return {"newDeadline": fmt_ts(inst.deadline)}


def rpc_create_ingress(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    wanted = []
    items = get_list(req, "ingresses", "")
    if not items:
        raise RpcError("invalid_argument", "ingresses must not be empty")
    for i, ing in enumerate(items):
        w = "ingresses[%d]." % i
        if not isinstance(ing, dict):
            raise RpcError("invalid_argument", w[:-1] + ": must be an object")
        name = get_str(ing, "name", w)
        backend = get_obj(ing, "exported_port_backend", w + "")
        if backend is None:
            raise RpcError("invalid_argument",
                           w + "exportedPortBackend is required")
        port = get_int(backend, "port", w + "exportedPortBackend.")
        if not 1 <= port <= 65535:
            raise RpcError("invalid_argument",
                           w + "exportedPortBackend.port must be in 1..65535")
        get_list(ing, "http_match_rule", w)
        get_bool(ing, "wildcard", w)
        wanted.append((name or "port-%d" % port, port))
    with STATE.lock:
        inst = STATE.lookup(iid)
        if inst.status != STATUS_RUNNING:
            raise RpcError("failed_precondition",
                           "instance %s is %s, not RUNNING"
                           % (iid, inst.status))
        out = []
        for name, port in wanted:
            fqdn = "%s-%d.%s" % (iid, port, INGRESS_DOMAIN)
            inst.ingresses[port] = {"name": name, "fqdn": fqdn}
            out.append({"name": name, "fqdn": fqdn})
        return prune({"allocatedIngresses": out})


def rpc_list_ingresses(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    with STATE.lock:
        inst = STATE.lookup(iid)
        if inst.status == STATUS_DESTROYED:
            raise RpcError("failed_precondition",
                           "instance %s is already terminated" % iid)
        return prune({"allocatedIngresses": [
            dict(v) for _, v in sorted(inst.ingresses.items())]})


def rpc_run_command_sync(h, req, fault):
    iid = get_str(req, "instance_id", "", required=True)
    cname = get_str(req, "target_container_name", "", required=True)
    command = get_obj(req, "command", "")
    if command is None:
        raise RpcError("invalid_argument", "command is required")
    argv = get_list(command, "command", "command.")
    if not argv:
        raise RpcError("invalid_argument",
                       "command.command must not be empty")
    for a in argv:
        if not isinstance(a, str) or "\0" in a:
            raise RpcError("invalid_argument",
                           "command.command must be a list of strings")
    if not argv[0]:
        raise RpcError("invalid_argument",
                       "command.command[0] must not be empty")
    cmd_env = env_list(get_list(command, "env_vars", "command."),
                       "command.envVars")
    cwd = get_str(command, "cwd", "command.") or "/workspace"
    if "\0" in cwd:
        raise RpcError("invalid_argument", "command.cwd contains NUL")
    if not cwd.startswith("/"):
        cwd = "/workspace/" + cwd
    cwd = posixpath.normpath(cwd)
    if cwd.startswith("//"):
        cwd = "/" + cwd.lstrip("/")
    if h.endpoint_instance is not None and h.endpoint_instance != iid:
        raise RpcError("not_found",
                       "instance %r is not served by this endpoint" % iid)
    with STATE.lock:
        inst = STATE.lookup(iid)
        if inst.status != STATUS_RUNNING:
            raise RpcError("failed_precondition",
                           "instance %s is %s, not RUNNING"
                           % (iid, inst.status))
        c = inst.container(cname)
        if c is None:
            raise RpcError("not_found",
                           "container %r not found in instance %s"
                           % (cname, iid))
        env = [("PATH", DEFAULT_PATH), ("HOME", "/root"),
               ("HOSTNAME", inst.id)]
        env += c["env"] + cmd_env
    merged = {}
    for k, v in env:
        merged.pop(k, None)
        merged[k] = v
    out, err, rc = run_command(h, inst, argv, list(merged.items()), cwd,
                               h.budget(COMMAND_CAP_S))
    return prune({"stdout": base64.b64encode(out).decode(),
                  "stderr": base64.b64encode(err).decode(),
                  "exitCode": rc})


RPCS = {
    "CreateInstance": rpc_create_instance,
    "DescribeInstance": rpc_describe_instance,
    "ListInstances": rpc_list_instances,
    "DestroyInstance": rpc_destroy_instance,
    "WaitInstanceSync": rpc_wait_instance_sync,
    "ExtendInstance": rpc_extend_instance,
    "CreateIngress": rpc_create_ingress,
    "ListIngresses": rpc_list_ingresses,
    "RunCommandSync": rpc_run_command_sync,
}


# ---------------------------------------------------------------------------
# HTTP.

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def version_string(self):
        return "fake-namespace/1"

    # -- plumbing --

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0] if isinstance(self.path, str) \
            else "-"
        sys.stderr.write("%s %s %s\n" % (self.command, path, code))
        sys.stderr.flush()

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_namespace: %s\n" % (fmt % args))
        sys.stderr.flush()

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n",
                                                              b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, status, body, ctype="application/json",
                   headers=None):
        self.sent_status = status
        try:
            self.send_response(status)
            if body or ctype:
                self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            # The client has gone (e.g. it hung up on a command).
            self.close_connection = True

    def send_json(self, status, obj, headers=None):
        self.send_bytes(status, json.dumps(obj).encode(),
                        headers=headers)

    def send_error_reply(self, e):
        self.send_json(HTTP_STATUS.get(e.code, 500),
                       {"code": e.code, "message": e.message},
                       headers=e.headers)

    def budget(self, cap):
        v = self.headers.get("Connect-Timeout-Ms", "")
        if re.match(r"^\d{1,10}$", v):
            return min(cap, int(v) / 1000.0)
        return cap

    # -- dispatch --

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def route(self, path):
        """-> (rpc name or None, instance id from the endpoint or None)."""
        if path.startswith(COMPUTE_PREFIX):
            m = path[len(COMPUTE_PREFIX):]
            return (m if m in COMPUTE_METHODS else None), None
        if path == COMMAND_PATH:
            return "RunCommandSync", None
        m = re.match(r"^/cmd/([^/]+)(/.*)$", path)
        if m and m.group(2) == COMMAND_PATH:
            return "RunCommandSync", m.group(1)
        return None, None

    def dispatch(self):
        self.sent_status = None
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/_fake/"):
            return self.control(path, url.query)
        raw = self.read_body()
        rpc, self.endpoint_instance = self.route(path)
        entry = {"method": self.command, "path": path, "rpc": rpc,
                 "auth": "Authorization" in self.headers,
                 "body": self.log_body(raw), "status": None, "fault": None}
        with STATE.lock:
            STATE.req_seq += 1
            entry["seq"] = STATE.req_seq
            STATE.requests.append(entry)
        try:
            self.handle_rpc(rpc, raw, entry)
        finally:
            entry["status"] = self.sent_status

    @staticmethod
    def log_body(raw):
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def handle_rpc(self, rpc, raw, entry):
        if rpc is None:
            return self.send_error_reply(RpcError(
                "unimplemented", "%s is not implemented" % entry["path"]))
        if self.command != "POST":
            return self.send_bytes(405, b"", ctype=None,
                                   headers={"Allow": "POST"})
        ctypes = self.headers.get_all("Content-Type") or [""]
        if len(ctypes) != 1 or \
                ctypes[0].split(";", 1)[0].strip().lower() != \
                "application/json":
            return self.send_bytes(
                415, b"", ctype=None,
                headers={"Accept-Post": "application/json"})
        with STATE.lock:
            fault = STATE.take_fault(rpc)
        if fault is not None:
            entry["fault"] = fault["kind"]
            if self.apply_fault(fault):
                return
        try:
            self.check_auth()
            if not raw:
                raise RpcError("invalid_argument",
                               "zero-length payload is not a valid JSON "
                               "object")
            try:
                req = json.loads(raw)
            except ValueError as e:
                raise RpcError("invalid_argument",
                               "request body is not valid JSON: %s" % e)
            if not isinstance(req, dict):
                raise RpcError("invalid_argument",
                               "request body must be a JSON object")
            reply = RPCS[rpc](self, req, fault)
        except RpcError as e:
            return self.send_error_reply(e)
        except Exception as e:  # a bug in the fake: say so, keep serving
            sys.stderr.write("fake_namespace: internal error: %r\n" % e)
            return self.send_error_reply(RpcError("internal", str(e)))
        self.send_json(200, reply)

    def check_auth(self):
        values = self.headers.get_all("Authorization") or []
        if len(values) > 1:
            raise RpcError("unauthenticated",
                           "more than one Authorization header")
        if not values:
            raise RpcError("unauthenticated", "missing bearer token")
        v = values[0]
        parts = v.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise RpcError("unauthenticated",
                           "authorization is not a bearer token")
        if not secrets.compare_digest(parts[1].strip().encode(),
                                      STATE.token.encode()):
            raise RpcError("unauthenticated", "invalid bearer token")

    def apply_fault(self, fault):
        """Send the fault's reply.  True if the call is answered."""
        kind = fault["kind"]
        if kind in FAULT_ERRORS:
            code, msg = FAULT_ERRORS[kind]
            headers = {}
            if kind == "429":
                headers["Retry-After"] = str(fault.get("retry_after", 1))
            self.send_error_reply(RpcError(code, msg, headers))
            return True
        if kind == "slow":
            time.sleep(fault.get("delay_ms", 2000) / 1000.0)
            return False
        if kind == "not_ready":
            return False
        if kind == "nonjson":
            body = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway"
                    b"</title></head>\n<body><h1>Bad Gateway</h1><p>The "
                    b"upstream server is unavailable.</p></body></html>\n")
            self.send_bytes(200, body, ctype="text/html; charset=utf-8")
            return True
        if kind == "truncated":
            body = b'{"metadata":{"instanceId":"trunc'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 4096))
            self.end_headers()
            self.sent_status = 200
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                pass
            self.close_connection = True
            return True
        if kind == "badjson":
            # A complete reply whose JSON stops in the middle of an
            # object: the transfer is fine, the body is not.
            body = b'{"metadata":{"instanceId":"badjson","status":"RUNN'
            self.send_bytes(200, body)
            return True
        if kind == "huge":
            head, tail = b'{"padding":"', b'"}'
            fill = HUGE_BYTES - len(head) - len(tail)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            self.sent_status = 200
            chunk = b"x" * (1 << 20)
            try:
                self.wfile.write(head)
                while fill > 0:
                    n = min(fill, len(chunk))
                    self.wfile.write(chunk[:n])
                    fill -= n
                self.wfile.write(tail)
            except OSError:
                self.close_connection = True
            return True
        return False

    # -- control surface --

    def control(self, path, query):
        raw = self.read_body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.send_json(400, {"code": "invalid_argument",
                                        "message": "body is not JSON"})
        if not isinstance(body, dict):
            body = {}
        q = urllib.parse.parse_qs(query)
        get = self.command in ("GET", "HEAD")
        if path == "/_fake/health" and get:
            return self.send_json(200, {"ok": True})
        if path == "/_fake/requests" and get:
            with STATE.lock:
                return self.send_json(200, STATE.requests)
        if path == "/_fake/instances" and get:
            with STATE.lock:
                STATE.refresh()
                return self.send_json(
                    200, [i.dump() for i in STATE.instances.values()])
        if path == "/_fake/reset" and self.command == "POST":
            with STATE.lock:
                STATE.faults = []
                if q.get("requests", ["0"])[0] not in ("", "0") or \
                        body.get("requests"):
                    STATE.requests = []
            return self.send_json(200, {"ok": True})
        if path == "/_fake/fault" and self.command == "POST":
            return self.add_fault(body)
        if path == "/_fake/instance" and self.command == "POST":
            return self.change_instance(body)
        return self.send_json(404, {"code": "not_found",
                                    "message": "no such control endpoint"})

    def add_fault(self, body):
        def bad(msg):
            self.send_json(400, {"code": "invalid_argument", "message": msg})

        method = body.get("method", "*")
        kind = str(body.get("kind", ""))
        if method != "*" and method not in ALL_RPCS:
            return bad("method must be * or one of %s" % ", ".join(ALL_RPCS))
        if kind not in FAULT_KINDS:
            return bad("kind must be one of %s" % ", ".join(FAULT_KINDS))
        f = {"method": method, "kind": kind}
        for key, default in (("count", 1), ("retry_after", 1),
                             ("delay_ms", 2000), ("ready_after_ms", 5000)):
            v = body.get(key, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    v < 0:
                return bad("%s must be a non-negative number" % key)
            f[key] = v
        f["count"] = int(f["count"])
        with STATE.lock:
            STATE.fault_seq += 1
            f["id"] = STATE.fault_seq
            STATE.faults.append(f)
        return self.send_json(200, {"ok": True, "id": f["id"]})

    def change_instance(self, body):
        iid = body.get("instance_id") or body.get("instanceId")
        with STATE.lock:
            STATE.refresh()
            inst = STATE.instances.get(iid)
            if inst is None:
                return self.send_json(404, {"code": "not_found",
                                            "message": "no such instance"})
            t = now()
            if body.get("expire"):
                inst.deadline = t
            if "ready_after_ms" in body and inst.status != STATUS_DESTROYED:
                inst.ready_time = t + float(body["ready_after_ms"]) / 1000.0
                inst.status = STATUS_CREATING
                inst.ready_at = None
            STATE.refresh(t)
            return self.send_json(200, inst.dump())


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--state", required=True,
                    help="directory for per-instance files")
    ap.add_argument("--token", default=os.environ.get(
        "NS_FAKE_TOKEN", "fake-namespace-token"))
    ap.add_argument("--ready-after-ms", type=int, default=0)
    args = ap.parse_args()
    if args.ready_after_ms < 0:
        ap.error("--ready-after-ms must not be negative")

    state_dir = os.path.abspath(args.state)
    os.makedirs(os.path.join(state_dir, "instances"), exist_ok=True)
    STATE = State(state_dir, args.token, args.ready_after_ms)
    STATE.bwrap = bwrap_works()
    STATE.persistent = STATE.bwrap and bool(shutil.which("nsenter"))
    if not STATE.bwrap:
        sys.stderr.write("fake_namespace: bubblewrap unavailable; commands "
                         "run unisolated in per-instance directories\n")
    elif not STATE.persistent:
        sys.stderr.write("fake_namespace: nsenter unavailable; each command "
                         "gets a fresh sandbox (no background processes)\n")

    srv = Server((args.host, args.port), Handler)
    port = srv.server_address[1]
    STATE.base_url = "http://%s:%d" % (args.host, port)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=reaper, daemon=True).start()
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.1)
    except SystemExit:
        pass
    finally:
        with STATE.lock:
            for inst in STATE.instances.values():
                for p in list(inst.procs):
                    kill_tree(p)
                stop_sandbox(inst)
        srv.server_close()


if __name__ == "__main__":
    main()
