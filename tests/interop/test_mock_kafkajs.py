"""kafkajs 2.2.4 group consumer against a 3-broker kc-mock while the group's
coordinator moves: 1 -> 2 (the old one answers NOT_COORDINATOR), then
2 -> 3 with broker 2's connections closed, then 3 -> 1 with broker 3 taken
down. test_mock_kafkajs.js consumes each round's messages; the request log
shows the group's traffic following the coordinator. kafkajs comes from
tests/interop/node_modules (see test_kafkajs.py, which installs it)."""
import os
import select
import subprocess
import time

from kcbroker import check, fail, log, require_tool, run
from kcmock import KcMock
from test_kafkajs import ensure_kafkajs

HERE = os.path.dirname(os.path.abspath(__file__))
TOPIC, GROUP = "kjs", "g-move"
GROUP_APIS = {"JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit"}


class Node:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.buf = b""
        self.out = []

    def wait_line(self, want, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                self.out.append(text)
                print(text, flush=True)
                if text.strip() == want:
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                fail("timed out after %ds waiting for node to print %r" % (timeout, want))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.proc.wait()
                    fail("node exited %r before printing %r" % (self.proc.returncode, want))
                self.buf += chunk

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self, timeout):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("node did not exit")
        check(self.proc.returncode == 0, "node exited %r" % self.proc.returncode)


def group_brokers(m):
    """The brokers that served the group's requests since the last clear."""
    return {r["broker"] for r in m.requests() if r["api"] in GROUP_APIS}


def broker3_down(m):
    """Leaders move off broker 3 first: the mock elects no leaders itself."""
    for p in range(3):
        m.cmd(op="set_leader", topic=TOPIC, partition=p, leader=1 + p % 2)
    m.cmd(op="broker_down", broker=3)


def main(ctx):
    node = require_tool("node", "nodejs")
    npm = require_tool("npm", "npm")
    ensure_kafkajs(npm)
    os.environ["KAFKAJS_NO_PARTITIONER_WARNING"] = "1"
    with KcMock(ctx.binary, brokers=3, topics=["%s:3:3" % TOPIC], scratch=ctx.scratch) as m:
        m.cmd(op="set_coordinator", key=GROUP, broker=1)
        n = Node([node, os.path.join(HERE, "test_mock_kafkajs.js"), m.bootstrap, TOPIC, GROUP, "4"])
        try:
            n.wait_line("ROUND 1 DONE", 90)
            check(group_brokers(m) == {1}, "group traffic before the move: %r" % group_brokers(m))

            moves = [
                (2, lambda: None),
                (3, lambda: m.cmd(op="close_connections", broker=2)),
                (1, lambda: broker3_down(m)),
            ]
            for r, (to, fault) in enumerate(moves, start=1):
                m.cmd(op="clear_requests")
                m.cmd(op="set_coordinator", key=GROUP, broker=to)
                fault()
                log("coordinator of %s moved to broker %d" % (GROUP, to))
                n.send("GO %d" % r)
                n.wait_line("ROUND %d DONE" % (r + 1), 90)
                # The member found the new coordinator and its group traffic
                # went there (the old one may have seen a last heartbeat).
                reqs = m.requests()
                found = [q for q in reqs if q["api"] == "FindCoordinator"]
                check(found, "no FindCoordinator after the move to %d" % to)
                at_new = [q for q in reqs if q["api"] in GROUP_APIS and q["broker"] == to]
                check(at_new, "no group request reached broker %d: %r"
                      % (to, sorted({(q["api"], q["broker"]) for q in reqs})))
            n.wait_line("ALL DONE", 90)
            n.finish(30)
        finally:
            if n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
        m.cmd(op="broker_up", broker=3)


if __name__ == "__main__":
    run(main)
