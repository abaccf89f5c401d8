#!/usr/bin/python3
"""bench.py WORK: measures sendq against msmtp, nullmailer and dma.

Run by bench/run.sh, which has unpacked the peers and built the helpers
in WORK, inside a private mount namespace (dma reads /etc/dma/dma.conf
and nothing else; an overlay on /etc, seen by this process tree only,
holds it). Every program sends to the same smtp-sink on 127.0.0.1; the
STARTTLS rows go through bench/tlsfront in front of that sink. Prints one
table; the raw figures go to WORK/results.json.

Environment: BENCH_QUICK=1 sends 10x fewer messages (and a 10 MB message
instead of 100 MB); BENCH_REPS sets the repetitions of the throughput and
memory rows (default 3); BENCH_PEERS limits the peers (e.g. "msmtp dma").
"""

import ctypes
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

WORK = os.path.abspath(sys.argv[1])
SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.join(WORK, "root")          # the unpacked packages
SPAWN = os.path.join(WORK, "spawn")
TLSFRONT = os.path.join(WORK, "tlsfront")
CA = os.path.join(WORK, "ca")

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N = 100 if QUICK else 1000                  # messages per burst
LAT_REPS = 5 if QUICK else 15               # single-message rows
REPS = int(os.environ.get("BENCH_REPS", "2" if QUICK else "3"))
BIG = (10 if QUICK else 100) << 20
SLOW = 10.0         # a cell whose first repetition took longer runs once
BURST_CAP = 12.0    # no submission of a burst starts later than this (s)
DEADLINE = time.monotonic() + 14 * 60       # the whole run stays under 15 min
TIMEOUT = 180.0     # for any one burst to arrive

PR_SET_CHILD_SUBREAPER = 36
procs = []          # everything started here, stopped by pid at exit


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def start(argv, **kw):
    """Popen in its own process group, remembered for the cleanup."""
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    procs.append(p)
    return p


def stop(p, timeout=10):
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        except ProcessLookupError:
            pass
    if p in procs:
        procs.remove(p)


def cleanup():
    for p in list(procs):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    for p in list(procs):
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    # Orphans reparented to us (we are a subreaper): our children, by pid.
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if ppid == me:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


class Sink:
    """Postfix's smtp-sink, its running counters read from a pipe."""

    def __init__(self, port):
        lib = os.path.join(ROOT, "postfix/usr/lib/postfix")
        env = dict(os.environ, LD_LIBRARY_PATH=lib)
        self.err = open(os.path.join(WORK, "log/smtp-sink.err"), "w")
        self.p = start([os.path.join(ROOT, "postfix/usr/sbin/smtp-sink"),
                        "-c", "-u", "nobody", "127.0.0.1:%d" % port, "1024"],
                       env=env, stdout=subprocess.PIPE, stderr=self.err)
        self.port = port
        self.mesg = self.sess = 0
        self.times = [0.0]      # times[k]: when message k arrived
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("bench: smtp-sink did not start")

    def _read(self):
        fd = self.p.stdout.fileno()
        rest = b""
        while True:
            data = os.read(fd, 65536)
            now = time.monotonic()
            if not data:
                return
            *lines, rest = (rest + data).split(b"\r")
            with self.cond:
                for line in lines:
                    f = dict(kv.split(b"=") for kv in line.split() if b"=" in kv)
                    mesg, sess = int(f.get(b"mesg", 0)), int(f.get(b"sess", 0))
                    while self.mesg < mesg:
                        self.mesg += 1
                        self.times.append(now)
                    self.sess = max(self.sess, sess)
                self.cond.notify_all()

    def wait(self, count, timeout=TIMEOUT):
        """The time message number count arrived, or None on timeout."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.mesg >= count, timeout):
                return None
            return self.times[count]

    def settle(self):
        """Counters once no session has ended for 100 ms."""
        last = -1
        while True:
            with self.cond:
                now = (self.mesg, self.sess)
            if now == last:
                return now
            last = now
            time.sleep(0.1)


class Front:
    """bench/tlsfront: STARTTLS on port, then the sink behind it."""

    def __init__(self, port, sink_port):
        self.err = open(os.path.join(WORK, "log/tlsfront.err"), "w")
        self.p = start([TLSFRONT, str(port), str(sink_port),
                        os.path.join(CA, "server.pem"),
                        os.path.join(CA, "server.key")],
                       stdout=subprocess.PIPE, stderr=self.err)
        if self.p.stdout.readline() != b"ready\n":
            raise SystemExit("bench: tlsfront did not start")


class Run:
    """One spawn helper: COUNT runs of argv with stdin from a file."""

    def __init__(self, argv, count=1, jobs=1, stdin="/dev/null", env=None,
                 limit=None):
        cap = ["-t", str(limit)] if limit else []
        self.p = start([SPAWN, "-n", str(count), "-j", str(jobs), "-i", stdin]
                       + cap + ["--"] + argv, env=env, stdout=subprocess.PIPE,
                       stderr=errlog)
        self.runs = []
        self.failed = None
        self.maxrss = None

    def next_run(self):
        """(start, end, status) of the next run to end."""
        line = self.p.stdout.readline().split()
        if not line or line[0] != b"run":
            raise RuntimeError("spawn: no run line: %r" % line)
        r = (float(line[1]), float(line[2]), int(line[3]))
        self.runs.append(r)
        return r

    def finish(self, timeout=TIMEOUT):
        """Waits for everything the runs left behind."""
        out, _ = self.p.communicate(timeout=timeout)
        if self.p in procs:
            procs.remove(self.p)
        for line in out.split(b"\n"):
            w = line.split()
            if w and w[0] == b"run":
                self.runs.append((float(w[1]), float(w[2]), int(w[3])))
            elif w and w[0] == b"done":
                self.failed, self.maxrss = int(w[1]), int(w[2])
        return self

    def stop(self):
        stop(self.p)
        return self.finish()


def count_files(d, prefix=""):
    try:
        return sum(1 for n in os.listdir(d)
                   if n.startswith(prefix) and not n.startswith("."))
    except FileNotFoundError:
        return 0


# --- the peers ---------------------------------------------------------

class Peer:
    name = "?"
    version = ""
    env = None
    has_queue = True

    def configure(self, port, tls):
        raise NotImplementedError

    def submit(self):
        raise NotImplementedError

    def queued(self):
        return 0

    def start(self):
        pass

    def stop(self):
        pass

    def wait_idle(self, timeout=60):
        end = time.monotonic() + timeout
        while self.queued() and time.monotonic() < end:
            time.sleep(0.005)


class SendQ(Peer):
    name = "sendq"

    def __init__(self):
        self.dir = os.path.join(WORK, "sendq")
        self.conf = os.path.join(self.dir, "sendq.ini")
        self.queue = os.path.join(self.dir, "queue")
        self.version = subprocess.run(
            ["git", "-C", SRC, "describe", "--always", "--dirty"],
            capture_output=True, text=True).stdout.strip() or "tree"

    def configure(self, port, tls):
        shutil.rmtree(self.queue, ignore_errors=True)
        os.makedirs(self.queue)
        tls_lines = ("tls = starttls\nca_file = %s/ca.pem\n" % CA if tls
                     else "tls = none\n")
        write(self.conf, "[smarthost]\nhost = 127.0.0.1\nport = %d\n%s"
              "\n[sender]\ndomain = example.com\n\n[queue]\ndir = %s\n"
              % (port, tls_lines, self.queue), 0o600)

    def submit(self, queue_only=False):
        return [os.path.join(SRC, "sendmail"), "-C", self.conf, "-t", "-i"] + \
            (["-odq"] if queue_only else [])

    def flush(self):
        return Run([os.path.join(SRC, "sendmail"), "-C", self.conf, "-q"])

    def queued(self):
        return count_files(os.path.join(self.queue, "q"))


class Msmtp(Peer):
    name = "msmtp"
    has_queue = False

    def __init__(self):
        self.rc = os.path.join(WORK, "msmtp/msmtprc")
        self.bin = os.path.join(ROOT, "msmtp/usr/bin/msmtp")

    def configure(self, port, tls):
        tls_lines = ("tls on\ntls_starttls on\ntls_trust_file %s/ca.pem\n" % CA
                     if tls else "tls off\n")
        write(self.rc, "account default\nhost 127.0.0.1\nport %d\n"
              "from bench@example.com\n%s" % (port, tls_lines), 0o600)

    def submit(self, queue_only=False):
        return [self.bin, "-C", self.rc, "-t", "-i"]


class Nullmailer(Peer):
    """Runs from its unpacked tree: NULLMAILER_TEST_PREFIX moves every
    path it uses (conf, queue, trigger, the programs it runs) under one
    directory. nullmailer-send is the daemon that delivers."""
    name = "nullmailer"

    def __init__(self):
        self.pre = os.path.join(WORK, "nullmailer")
        self.env = dict(os.environ, NULLMAILER_TEST_PREFIX=self.pre)
        shutil.rmtree(self.pre, ignore_errors=True)
        unpacked = os.path.join(ROOT, "nullmailer/usr")
        for sub, src in (("bin", "bin"), ("sbin", "sbin"),
                         ("protocols", "lib/nullmailer")):
            os.makedirs(os.path.join(self.pre, sub))
            for f in os.listdir(os.path.join(unpacked, src)):
                os.symlink(os.path.join(unpacked, src, f),
                           os.path.join(self.pre, sub, f))
        for d in ("queue/queue", "queue/tmp", "queue/failed", "conf"):
            os.makedirs(os.path.join(self.pre, d))
        os.mkfifo(os.path.join(self.pre, "queue/trigger"), 0o600)
        write(os.path.join(self.pre, "mailname"), "example.com\n")
        write(os.path.join(self.pre, "conf/defaultdomain"), "example.com\n")
        self.daemon = None

    def configure(self, port, tls):
        opts = "--port=%d" % port
        if tls:
            opts += " --starttls --x509cafile=%s/ca.pem" % CA
        write(os.path.join(self.pre, "conf/remotes"), "127.0.0.1 smtp %s\n" % opts)

    def submit(self, queue_only=False):
        return [os.path.join(self.pre, "sbin/sendmail"), "-t", "-i"]

    def start(self):
        if self.daemon is None:
            self.daemon = Run([os.path.join(self.pre, "sbin/nullmailer-send")],
                              env=self.env)

    def stop(self):
        """Stops nullmailer-send; returns its spawn (maxrss of it and of
        the protocol modules it ran)."""
        d, self.daemon = self.daemon, None
        return d.stop() if d else None

    def flush(self):
        self.start()
        return None

    def queued(self):
        return count_files(os.path.join(self.pre, "queue/queue"))


class Dma(Peer):
    """dma reads only /etc/dma/dma.conf: that path is on the overlay
    that run.sh's mount namespace puts over /etc. As root it drops to
    user mail, which owns its spool."""
    name = "dma"

    def __init__(self):
        self.bin = os.path.join(ROOT, "dma/usr/sbin/dma")
        self.spool = os.path.join(WORK, "dma/spool")
        shutil.rmtree(self.spool, ignore_errors=True)
        os.makedirs(self.spool)
        shutil.chown(self.spool, "mail", "mail")

    def configure(self, port, tls):
        tls_lines = "SECURETRANSFER\nSTARTTLS\n" if tls else ""
        write("/etc/dma/dma.conf", "SMARTHOST 127.0.0.1\nPORT %d\n"
              "SPOOLDIR %s\nMAILNAME example.com\nNULLCLIENT\n%s"
              % (port, self.spool, tls_lines))

    def submit(self, queue_only=False):
        return [self.bin] + (["-bq"] if queue_only else []) + ["-t", "-i"]

    def flush(self):
        return Run([self.bin, "-q"])

    def queued(self):
        return count_files(self.spool, "Q")


# --- the workloads -----------------------------------------------------

def make_message(path, size):
    """A message of about size bytes, To: a recipient -t finds."""
    if os.path.exists(path) and os.path.getsize(path) >= size:
        return path
    head = ("From: Bench <bench@example.com>\nTo: rcpt@example.com\n"
            "Subject: bench message of %d bytes\n\n" % size).encode()
    line = b"The quick brown fox jumps over the lazy dog, 0123456789 abcdefghijk\n"
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        block = line * (65536 // len(line))
        while left > 0:
            f.write(block[:left])
            left -= len(block)
    return path


def one_message(peer, sink, msg):
    """(caller's wait, until received) in seconds for one submission."""
    base = sink.mesg
    r = Run(peer.submit(), stdin=msg, env=peer.env)
    t0, t1, status = r.next_run()
    t2 = sink.wait(base + 1, 30)
    r.finish()
    peer.wait_idle()
    if status != 0 or t2 is None:
        raise RuntimeError("%s: exit %d, %s" % (peer.name, status,
                           "received" if t2 else "not received"))
    time.sleep(0.02)
    return t1 - t0, t2 - t0


def burst(peer, sink, msg, jobs):
    """(messages per second, SMTP connections, messages) for N
    submissions, or as many as start within BURST_CAP seconds."""
    base, bsess = sink.settle()
    r = Run(peer.submit(), count=N, jobs=jobs, stdin=msg, env=peer.env,
            limit=BURST_CAP)
    r.finish()
    n = len(r.runs)
    t_end = sink.wait(base + n)
    peer.wait_idle()
    if t_end is None or r.failed:
        raise RuntimeError("%s: %d failed, %d of %d received" % (
            peer.name, r.failed or 0, sink.mesg - base, n))
    t0 = min(run[0] for run in r.runs)
    _, sess = sink.settle()
    return n / (t_end - t0), (sess - bsess) * N / n, n


def flush(peer, sink, msg):
    """(messages per second, SMTP connections) for N queued messages."""
    peer.stop()
    r = Run(peer.submit(queue_only=True), count=N, jobs=8, stdin=msg,
            env=peer.env)
    r.finish()
    if r.failed or peer.queued() != N:
        raise RuntimeError("%s: %d queued of %d" % (peer.name, peer.queued(), N))
    base, bsess = sink.settle()
    if base != sink.mesg:
        raise RuntimeError("%s: sent while queueing only" % peer.name)
    t0 = time.monotonic()
    f = peer.flush()
    t_end = sink.wait(base + N)
    if f:
        f.finish()
    peer.wait_idle()
    if t_end is None:
        raise RuntimeError("%s: %d of %d received" % (peer.name, sink.mesg - base, N))
    _, sess = sink.settle()
    return N / (t_end - t0), sess - bsess, N


def memory(peer, sink, msg):
    """Peak RSS in MB of every process that handled the message."""
    base = sink.mesg
    peer.stop()         # a fresh daemon, so that its peak is this message's
    peer.start()
    r = Run(peer.submit(), stdin=msg, env=peer.env)
    t = sink.wait(base + 1)
    r.finish()
    peer.wait_idle()
    rss = r.maxrss
    d = peer.stop()
    if d:
        rss = max(rss, d.maxrss)
    peer.start()
    if t is None or r.failed:
        raise RuntimeError("%s: not received" % peer.name)
    return rss / 1024.0


# --- the table ---------------------------------------------------------

ROWS = []   # (key, label, unit, better, target)


def row(key, label, unit, better, target=None):
    ROWS.append((key, label, unit, better, target))


def fmt(v, unit):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if unit == "ms":
        return "%.1f" % (v * 1000) if v < 0.1 else "%.0f" % (v * 1000)
    if unit in ("msg/s", "conn"):
        return "%.0f" % v
    return "%.1f" % v


def table(results, peers):
    others = [p.name for p in peers if p.name != "sendq"]
    cols = ["workload", "sendq"] + others + ["sendq / best peer", "target"]
    lines = ["| " + " | ".join(cols) + " |",
             "|" + "---|" * len(cols)]
    for key, label, unit, better, target in ROWS:
        vals = results.get(key, {})
        if not vals:
            continue
        cells = [label + " (%s)" % unit, fmt(vals.get("sendq"), unit)]
        cells += [fmt(vals.get(p), unit) for p in others]
        nums = [vals[p] for p in others if isinstance(vals.get(p), (int, float))]
        mine = vals.get("sendq")
        if nums and isinstance(mine, (int, float)):
            best = min(nums) if better == "low" else max(nums)
            cells.append("%.2fx" % (mine / best) if best else "n/a")
        else:
            cells.append("n/a")
        cells.append(target or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def median(xs):
    return statistics.median(xs) if xs else None


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    os.makedirs(os.path.join(WORK, "log"), exist_ok=True)
    global errlog
    errlog = open(os.path.join(WORK, "log/runs.err"), "w")

    # dma's /etc/dma on an overlay that only this process tree sees.
    for d in ("etc-upper", "etc-work"):
        shutil.rmtree(os.path.join(WORK, d), ignore_errors=True)
        os.makedirs(os.path.join(WORK, d))
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=/etc,upperdir=%s/etc-upper,workdir=%s/etc-work"
                    % (WORK, WORK), "/etc"], check=True)
    os.makedirs("/etc/dma", exist_ok=True)

    msg2k = make_message(os.path.join(WORK, "msg-2k.eml"), 2048)
    msg1m = make_message(os.path.join(WORK, "msg-1m.eml"), 1 << 20)
    msgbig = make_message(os.path.join(WORK, "msg-big.eml"), BIG)
    big = "%d MB" % (BIG >> 20)

    every = [SendQ(), Msmtp(), Nullmailer(), Dma()]
    want = os.environ.get("BENCH_PEERS", "").split()
    peers = [p for p in every if p.name == "sendq" or not want or p.name in want]
    with open(os.path.join(WORK, "versions")) as f:
        versions = dict(line.split() for line in f if line.strip())
    for p in peers:
        p.version = versions.get(p.name, p.version)

    sink_port = free_port()
    sink = Sink(sink_port)
    front_port = free_port()
    Front(front_port, sink_port)

    results = {}
    notes = []
    started = time.monotonic()
    for tls in (False, True):
        sfx = " over STARTTLS" if tls else ""
        k = "tls:" if tls else ""
        for p in peers:
            p.configure(front_port if tls else sink_port, tls)
            p.start()
        log("%s: warming up" % ("STARTTLS" if tls else "plain"))
        for p in peers:
            one_message(p, sink, msg2k)

        # caller's wait and submit-until-received: the same submissions
        row(k + "wait", "caller's wait, `sendmail -t -i`, 2 KB" + sfx, "ms", "low",
            "<= 0.7x")
        row(k + "recv", "submit until received, idle queue" + sfx, "ms", "low",
            "<= 0.7x")
        waits = {p.name: [] for p in peers}
        recvs = {p.name: [] for p in peers}
        for _ in range(LAT_REPS):
            for p in peers:
                w, r = one_message(p, sink, msg2k)
                waits[p.name].append(w)
                recvs[p.name].append(r)
        results[k + "wait"] = {n: median(v) for n, v in waits.items()}
        results[k + "recv"] = {n: median(v) for n, v in recvs.items()}
        log("single messages done")

        workloads = [
            ("seq", "%d sequential submissions, until all received" % N,
             "msg/s", "high", ">= 2x", lambda p: burst(p, sink, msg2k, 1)),
            ("par", "%d submissions from 8 submitters at once" % N,
             "msg/s", "high", None, lambda p: burst(p, sink, msg2k, 8)),
            ("flush", "flush of %d queued messages" % N,
             "msg/s", "high", ">= 3x", lambda p: flush(p, sink, msg2k)),
            ("mem1", "peak memory, 1 MB message", "MB", "low", None,
             lambda p: memory(p, sink, msg1m)),
            ("membig", "peak memory, %s message" % big, "MB", "low",
             "<= 1x, flat", lambda p: memory(p, sink, msgbig)),
        ]
        for key, label, unit, better, target, fn in workloads:
            row(k + key, label + sfx, unit, better, target)
            if key in ("seq", "flush"):
                row(k + key + ":conn", "SMTP connections, " + label + sfx,
                    "conn", "low", "1 per per_connection (100)" if key == "flush" else None)
            got = {p.name: [] for p in peers}
            conns = {p.name: [] for p in peers}
            once = set()
            for rep in range(REPS):
                for p in peers:
                    if key == "flush" and not p.has_queue:
                        continue
                    if p.name in once or time.monotonic() > DEADLINE:
                        continue
                    t = time.monotonic()
                    try:
                        v = fn(p)
                    except Exception as e:   # reported, and the run goes on
                        log("%s%s: %s" % (k, key, e))
                        once.add(p.name)
                        p.wait_idle(10)
                        continue
                    if time.monotonic() - t > SLOW:
                        once.add(p.name)
                    if isinstance(v, tuple):
                        got[p.name].append(v[0])
                        conns[p.name].append(v[1])
                        if v[2] < N:
                            notes.append("%s, %s%s: %d of %d messages (the "
                                         "first %.0f s of the burst)" % (
                                             p.name, key, sfx, v[2], N,
                                             BURST_CAP))
                    else:
                        got[p.name].append(v)
            results[k + key] = {n: median(v) for n, v in got.items()}
            for p in peers:
                if key == "flush" and not p.has_queue:
                    results[k + key][p.name] = "no queue"
            if key in ("seq", "flush"):
                results[k + key + ":conn"] = {n: median(v) for n, v in conns.items()}
                for p in peers:
                    if key == "flush" and not p.has_queue:
                        results[k + key + ":conn"][p.name] = "no queue"
            log("%s%s done (%.0f s so far)" % (k, key, time.monotonic() - started))
        for p in peers:
            p.stop()

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f
                       if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    head = ("sendq bench, %s, %s, %d CPUs (%s), Linux %s; %s; medians of %d "
            "(single messages) and %d (the rest) repetitions; %.0f s" % (
                time.strftime("%Y-%m-%d"), platform.node(), os.cpu_count(), cpu,
                platform.release(),
                ", ".join("%s %s" % (p.name, p.version) for p in peers),
                LAT_REPS, REPS, time.monotonic() - started))
    print()
    print(head)
    print()
    print(table(results, peers))
    for n in sorted(set(notes), key=notes.index):
        print("- " + n)
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"head": head, "results": results, "notes": notes}, f,
                  indent=1)


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
