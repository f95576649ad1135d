"""A kc-mock process for the interop tests: started with its brokers and
topics, driven through its JSON-lines control channel (stdin/stdout).

The test scripts run as `SCRIPT KC_MOCK_BINARY SCRATCH_DIR` through
kcbroker.run(main), like the kc-broker ones; they start kc-mock themselves:

    with KcMock(ctx.binary, brokers=3, topics=["t:3:2"]) as m:
        m.cmd(op="push_errors", api="Produce", errors=["NOT_LEADER_OR_FOLLOWER"])
        ... a client against m.bootstrap ...
"""
import json
import os
import select
import subprocess
import time

from kcbroker import SANITIZER_MARKS, check, fail, log


class KcMock:
    def __init__(self, binary, brokers=3, topics=(), overrides=None, scratch=None):
        argv = [binary, "--brokers", str(brokers)]
        for t in topics:
            argv += ["--topic", t]
        for k, v in (overrides or {}).items():
            argv += ["--override", "%s=%s" % (k, v)]
        self.argv = argv
        self.err_path = os.path.join(scratch or "/tmp", "kc-mock.stderr")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err)
        self._buf = b""
        self.bootstrap = self._line(30, "kc-mock's bootstrap line").strip()
        check(self.bootstrap.count(",") == brokers - 1, "bootstrap %r" % self.bootstrap)
        log("kc-mock %d brokers: %s" % (brokers, self.bootstrap))

    def _line(self, timeout, what):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("timed out after %ds waiting for %s" % (timeout, what))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    fail("kc-mock closed its stdout while we waited for %s (exit %r)"
                         % (what, self.proc.poll()))
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def cmd_raw(self, line, timeout=30):
        """Sends one line, returns the parsed answer."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return json.loads(self._line(timeout, "the answer to %s" % line[:200]))

    def cmd(self, **op):
        """Runs a command that must succeed; returns its answer."""
        ans = self.cmd_raw(json.dumps(op))
        check(ans.get("ok") is True, "kc-mock %r answered %r" % (op, ans))
        return ans

    def requests(self, broker=None):
        op = {"op": "requests"}
        if broker is not None:
            op["broker"] = broker
        return self.cmd(**op)["requests"]

    def stop(self, timeout=30, sig=None):
        """Closes stdin (kc-mock's way to stop), or sends signal sig with
        stdin left open, and checks a clean exit."""
        how = "stdin closing" if sig is None else "signal %d" % sig
        if self.proc.poll() is None:
            if sig is None:
                self.proc.stdin.close()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("kc-mock did not exit within %ds of %s" % (timeout, how))
            if sig is not None:
                self.proc.stdin.close()
        self.err.close()
        text = open(self.err_path, "rb").read().decode("utf-8", "replace")
        for mark in SANITIZER_MARKS:
            check(mark not in text, "kc-mock stderr has %r:\n%s" % (mark, text[-5000:]))
        check(self.proc.returncode == 0, "kc-mock exited %r after %s:\n%s"
              % (self.proc.returncode, how, text[-3000:]))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        else:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
            import sys
            text = open(self.err_path, "rb").read().decode("utf-8", "replace")
            sys.stderr.write("---- kc-mock stderr (tail) ----\n%s\n" % text[-5000:])
        return False
