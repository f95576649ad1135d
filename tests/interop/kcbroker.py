"""Shared pieces of the interop tests: a kc-broker process, waits with
deadlines, checks for required tools, and a tiny raw Kafka-protocol client.

Every test script is run by ctest as

    /usr/bin/python3 test_x.py BROKER_BINARY SCRATCH_DIR

and uses `run(main)`, which creates a fresh scratch directory, calls
main(ctx), stops every broker it started, dumps their stderr on failure and
exits non-zero on any failure. Traffic goes to 127.0.0.1 only.
"""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def log(msg):
    print("[%7.2fs] %s" % (time.monotonic() - _T0, msg), flush=True)


_T0 = time.monotonic()


def wait_for(cond, timeout, what, interval=0.02):
    """Polls cond() until it returns a true value (returned) or the deadline
    passes (TestFailure naming `what`)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# ---- Required tools -------------------------------------------------------------

def require_module(name, debian_pkg):
    """Imports a Python module; a missing one fails the test naming the Debian
    package (scripts/deps.sh test installs it)."""
    try:
        return __import__(name)
    except ImportError as e:
        fail("Python module %r is missing (%s): install the Debian package %s "
             "(scripts/deps.sh test) and run with /usr/bin/python3" % (name, e, debian_pkg))


def require_tool(name, debian_pkg):
    path = shutil.which(name)
    if not path:
        fail("%s not found on PATH: install the Debian package %s (scripts/deps.sh test)"
             % (name, debian_pkg))
    return path


# ---- The broker process ---------------------------------------------------------

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer", "ThreadSanitizer")


class Broker:
    """A kc-broker process on 127.0.0.1 with its log dirs under `workdir`.

    The first start binds port 0; restarts reuse the port it got, so clients
    that keep the bootstrap address reconnect to the new process."""

    def __init__(self, binary, workdir, overrides=None, name="broker"):
        self.binary = binary
        self.workdir = workdir
        self.name = name
        self.datadir = os.path.join(workdir, "data")
        self.overrides = dict(overrides or {})
        self.port = 0
        self.proc = None
        self.runs = []  # (stdout path, stderr path) per start
        os.makedirs(self.datadir, exist_ok=True)

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def _argv(self):
        conf = {"listeners": "PLAINTEXT://127.0.0.1:%d" % self.port, "log.dirs": self.datadir}
        conf.update(self.overrides)
        argv = [self.binary]
        for k, v in conf.items():
            argv += ["--override", "%s=%s" % (k, v)]
        return argv

    def _spawn(self, out, err):
        env = dict(os.environ)
        # Sanitizer builds: a finding makes the broker exit non-zero (LeakSanitizer
        # at exit, UBSan at once) and its report lands in the stderr we scan.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(self._argv(), stdout=fo, stderr=fe,
                                         stdin=subprocess.DEVNULL, env=env)

    def start(self, timeout=30):
        check(self.proc is None, "%s already running" % self.name)
        n = len(self.runs)
        out = os.path.join(self.workdir, "%s.%d.stdout" % (self.name, n))
        err = os.path.join(self.workdir, "%s.%d.stderr" % (self.name, n))
        self.runs.append((out, err))
        self._spawn(out, err)
        deadline = time.monotonic() + timeout
        while True:
            line = self._listening_line(out)
            if line:
                break
            rc = self.proc.poll()
            if rc is not None:
                text = _read(err)
                # A restart binds the port the first run got; if something
                # still holds it, try again until the deadline.
                if self.port and "in use" in text and time.monotonic() < deadline:
                    time.sleep(0.1)
                    self._spawn(out, err)
                    continue
                self.proc = None
                fail("%s exited with %d before listening:\n%s" % (self.name, rc, text))
            if time.monotonic() >= deadline:
                fail("%s did not print 'listening on' within %ds" % (self.name, timeout))
            time.sleep(0.02)
        hostport = line.split("listening on ", 1)[1].strip()
        port = int(hostport.rsplit(":", 1)[1])
        check(not self.port or port == self.port, "restart listens on %d, not %d" % (port, self.port))
        self.port = port
        log("%s pid %d listening on %s" % (self.name, self.proc.pid, hostport))
        return self

    @staticmethod
    def _listening_line(path):
        for line in _read(path).split("\n")[:-1]:  # complete lines only
            if line.startswith("listening on "):
                return line
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            rc = self.proc.poll() if self.proc else None
            fail("%s is not running (exit status %s)" % (self.name, rc))

    def stop(self, timeout=60):
        """SIGTERM; checks exit status 0, the clean-stop line, and a log free
        of ERROR lines and sanitizer reports."""
        check(self.proc is not None, "%s is not running" % self.name)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            fail("%s did not exit within %ds of SIGTERM" % (self.name, timeout))
        self.proc = None
        text = _read(self.runs[-1][1])
        check(rc == 0, "%s exited with %d after SIGTERM" % (self.name, rc))
        check("stopped cleanly" in text, "%s: no 'stopped cleanly' in its log" % self.name)
        self.check_log()
        log("%s stopped cleanly" % self.name)

    def kill9(self):
        check(self.proc is not None, "%s is not running" % self.name)
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.check_log(errors_ok=True)

    def restart(self, timeout=30):
        self.stop()
        return self.start(timeout)

    def check_log(self, errors_ok=False, run=-1):
        """No sanitizer report (ever) and no ERROR line (unless errors_ok)."""
        text = _read(self.runs[run][1])
        for mark in SANITIZER_MARKS:
            if mark in text:
                fail("%s: sanitizer report in its stderr (%s)" % (self.name, mark))
        if not errors_ok:
            bad = [l for l in text.splitlines() if " ERROR " in l]
            check(not bad, "%s logged errors:\n%s" % (self.name, "\n".join(bad[:20])))

    def log_text(self, run=-1):
        return _read(self.runs[run][1])

    def batch_codecs(self, topic):
        """Compression codecs (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) of the
        batches in the topic's segment files: what the client really sent."""
        import glob
        codecs = {}
        for path in glob.glob(os.path.join(self.datadir, glob.escape(topic) + "-*", "*.log")):
            with open(path, "rb") as f:
                data = f.read()
            pos = 0
            while pos + 23 <= len(data):
                size = struct.unpack(">i", data[pos + 8:pos + 12])[0]
                if size <= 0:
                    break
                codec = struct.unpack(">h", data[pos + 21:pos + 23])[0] & 7
                codecs[codec] = codecs.get(codec, 0) + 1
                pos += 12 + size
        return codecs

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def dump(self, out=sys.stderr, tail=200):
        for i, (_, err) in enumerate(self.runs):
            lines = _read(err).splitlines()
            out.write("---- %s run %d stderr (%s), last %d of %d lines ----\n"
                      % (self.name, i, err, min(tail, len(lines)), len(lines)))
            out.write("\n".join(lines[-tail:]) + "\n")
        out.flush()

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# ---- Test runner ----------------------------------------------------------------

class Context:
    def __init__(self, binary, scratch):
        self.binary = os.path.abspath(binary)
        self.scratch = scratch
        self.brokers = []
        seed = os.environ.get("KC_TEST_SEED")
        self.seed = int(seed) if seed else random.SystemRandom().randrange(1 << 31)
        self.rng = random.Random(self.seed)

    def broker(self, overrides=None, name="broker", start=True):
        b = Broker(self.binary, os.path.join(self.scratch, name), overrides, name)
        self.brokers.append(b)
        return b.start() if start else b


def run(main):
    """Entry point of every test script: argv = BROKER_BINARY SCRATCH_DIR."""
    if len(sys.argv) != 3:
        sys.stderr.write("usage: %s BROKER_BINARY SCRATCH_DIR\n" % sys.argv[0])
        sys.exit(2)
    binary, scratch = sys.argv[1], sys.argv[2]
    if not os.access(binary, os.X_OK):
        sys.stderr.write("FAIL: %s is not an executable\n" % binary)
        sys.exit(1)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    ctx = Context(binary, scratch)
    log("seed %d (rerun with KC_TEST_SEED=%d)" % (ctx.seed, ctx.seed))
    ok = False
    try:
        main(ctx)
        for b in ctx.brokers:
            if b.proc is not None:
                b.stop()
        ok = True
    except TestFailure as e:
        sys.stderr.write("FAIL: %s\n" % e)
    except Exception:
        sys.stderr.write("FAIL: unexpected exception\n")
        traceback.print_exc()
    finally:
        if not ok:
            for b in ctx.brokers:
                b.dump()
        for b in ctx.brokers:
            b.cleanup()
    if ok:
        log("PASS")
        shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if ok else 1)


def run_tool(argv, timeout, input=None, what=None):
    """Runs a client tool with a time limit; fails with its output otherwise."""
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        fail("%s timed out after %ds; stderr:\n%s"
             % (what or argv[0], timeout, (e.stderr or b"").decode("utf-8", "replace")[-4000:]))
    if p.returncode != 0:
        fail("%s exited with %d; stderr:\n%s"
             % (what or argv[0], p.returncode, p.stderr.decode("utf-8", "replace")[-4000:]))
    return p


# ---- Checking what came back ----------------------------------------------------

def check_exactly_once(sent, got, what):
    """sent: {partition: [value, ...]} in produce order; got: [(partition,
    offset, value), ...] as consumed. Every value arrives exactly once, in
    order within its partition, at increasing offsets."""
    by_part = {}
    for p, off, v in got:
        by_part.setdefault(p, []).append((off, v))
    for p, recs in by_part.items():
        offs = [o for o, _ in recs]
        check(all(a < b for a, b in zip(offs, offs[1:])),
              "%s: partition %d offsets not increasing" % (what, p))
    for p in set(sent) | set(by_part):
        want = sent.get(p, [])
        have = [v for _, v in by_part.get(p, [])]
        if want != have:
            extra = len(have) - len(want)
            missing = [v for v in want if v not in set(have)][:5]
            fail("%s: partition %d: sent %d records, read %d (missing e.g. %r); first difference at %d"
                 % (what, p, len(want), len(have), missing,
                    next((i for i, (a, b) in enumerate(zip(want, have)) if a != b),
                         min(len(want), len(have)))))
    log("%s: %d records in %d partitions arrived exactly once, in order"
        % (what, sum(len(v) for v in sent.values()), len(sent)))


def check_in_send_order(sent, got, what, key_of=None):
    """For clients that pick partitions themselves. sent: values in the order
    they were produced; got: [(partition, offset, key, value), ...]. Every
    value arrives exactly once, each partition holds its values in send order
    at increasing offsets, and (key_of) all values of one key share a partition."""
    index = {v: i for i, v in enumerate(sent)}
    check(len(index) == len(sent), "%s: the sent values are not unique" % what)
    seen = {}
    for p, off, key, v in got:
        check(v in index, "%s: read a value never sent: %r (partition %d offset %d)"
              % (what, v, p, off))
        check(v not in seen, "%s: %r read twice (partition %d offsets %d and %d)"
              % (what, v, p, seen.get(v, (0, -1))[1], off))
        seen[v] = (p, off)
    missing = [v for v in sent if v not in seen]
    check(not missing, "%s: %d of %d records never arrived, e.g. %r"
          % (what, len(missing), len(sent), missing[:5]))
    last = {}
    key_part = {}
    for p, off, key, v in got:
        prev = last.get(p)
        if prev is not None:
            check(off > prev[0] and index[v] > prev[1],
                  "%s: partition %d: %r at offset %d follows %r at offset %d"
                  % (what, p, v, off, sent[prev[1]], prev[0]))
        last[p] = (off, index[v])
        if key_of is not None:
            k = key_of(v)
            check(key_part.setdefault(k, p) == p, "%s: key %r in partitions %d and %d"
                  % (what, k, key_part[k], p))
    log("%s: %d records in %d partitions arrived exactly once, in send order"
        % (what, len(sent), len(last)))


# ---- A raw Kafka-protocol client (just what the tests need) -----------------------

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)
def u32(v): return struct.pack(">I", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def array(items):
    return i32(len(items)) + b"".join(items)


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


class Reader:
    def __init__(self, data):
        self.d = data
        self.pos = 0

    def take(self, n):
        check(self.pos + n <= len(self.d), "response truncated at %d (+%d of %d)"
              % (self.pos, n, len(self.d)))
        b = self.d[self.pos:self.pos + n]
        self.pos += n
        return b

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def array(self, fn):
        n = self.i32()
        return [] if n < 0 else [fn() for _ in range(n)]


_CRC32C = []


def crc32c(data):
    if not _CRC32C:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C.append(c)
    crc = 0xFFFFFFFF
    t = _CRC32C
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def record_batch(values, producer_id=-1, epoch=-1, base_seq=-1, ts=None):
    """A magic-2 batch of uncompressed records (key None) starting at offset 0."""
    ts = int(time.time() * 1000) if ts is None else ts
    recs = b""
    for i, v in enumerate(values):
        body = i8(0) + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = (i16(0) + i32(len(values) - 1) + i64(ts) + i64(ts) + i64(producer_id) + i16(epoch)
                 + i32(base_seq) + i32(len(values)) + recs)
    crc = crc32c(after_crc)
    # base offset, batch length, partition leader epoch, magic, crc
    return i64(0) + i32(4 + 1 + 4 + len(after_crc)) + i32(-1) + i8(2) + u32(crc) + after_crc


class RawConn:
    """A blocking connection sending non-flexible requests (header v1)."""

    def __init__(self, bootstrap, timeout=10):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def send(self, key, ver, body, client_id="kc-interop"):
        self.corr += 1
        hdr = i16(key) + i16(ver) + i32(self.corr) + string(client_id)
        self.sock.sendall(i32(len(hdr) + len(body)) + hdr + body)
        return self.corr

    def recv_frame(self):
        n = struct.unpack(">i", self._recv(4))[0]
        check(0 <= n <= 64 << 20, "bad response size %d" % n)
        return self._recv(n)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return buf

    def request(self, key, ver, body):
        corr = self.send(key, ver, body)
        r = Reader(self.recv_frame())
        got = r.i32()
        check(got == corr, "response correlation id %d, expected %d" % (got, corr))
        return r

    # -- the few requests the tests use --

    def api_versions(self):
        r = self.request(18, 0, b"")
        err = r.i16()
        check(err == 0, "ApiVersions error %d" % err)
        return {k: (lo, hi) for k, lo, hi in r.array(lambda: (r.i16(), r.i16(), r.i16()))}

    def metadata(self, topics=None):
        """Metadata v1: {topic: (error, [partition, ...])} and the broker list."""
        r = self.request(3, 1, i32(-1) if topics is None else array([string(t) for t in topics]))
        brokers = r.array(lambda: (r.i32(), r.string(), r.i32(), r.string()))
        r.i32()  # controller

        def topic():
            err, name, _internal = r.i16(), r.string(), r.i8()
            parts = r.array(lambda: (r.i16(), r.i32(), r.i32(), r.array(r.i32), r.array(r.i32)))
            return name, (err, sorted(p[1] for p in parts))
        return dict(r.array(topic)), brokers

    def init_producer_id(self):
        """InitProducerId v0 without a transactional id: (error, id, epoch)."""
        r = self.request(22, 0, string(None) + i32(60000))
        r.i32()  # throttle
        return r.i16(), r.i64(), r.i16()

    def produce(self, topic, partition, batch, acks=-1):
        """Produce v3 with one batch: (error, base_offset)."""
        body = (string(None) + i16(acks) + i32(30000)
                + array([string(topic) + array([i32(partition) + nbytes(batch)])]))
        r = self.request(0, 3, body)
        res = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
        _, parts = res[0]
        return parts[0][1], parts[0][2]

    def list_offsets(self, topic, partition, ts=-1):
        """ListOffsets v1: (error, offset); ts -1 latest, -2 earliest."""
        body = i32(-1) + array([string(topic) + array([i32(partition) + i64(ts)])])
        r = self.request(2, 1, body)
        res = r.array(lambda: (r.string(), r.array(lambda: (r.i32(), r.i16(), r.i64(), r.i64()))))
        p = res[0][1][0]
        return p[1], p[3]


def raw_metadata_ok(bootstrap, topics=None):
    c = RawConn(bootstrap)
    try:
        return c.metadata(topics)
    finally:
        c.close()
