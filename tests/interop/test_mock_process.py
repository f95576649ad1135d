"""kc-mock as a process: --override reaches the brokers (a topic created by
Metadata gets num.partitions; auto.create.topics.enable=false creates none),
a bad override or broker id is refused by name, and SIGTERM or SIGINT stops
it cleanly (exit 0) with stdin still open."""
import signal
import subprocess

from kcbroker import RawConn, check, log, raw_metadata_ok, run
from kcmock import KcMock

UNKNOWN_TOPIC_OR_PARTITION = 3


def first_broker(m):
    return m.bootstrap.split(",")[0]


def main(ctx):
    with KcMock(ctx.binary, brokers=2, overrides={"num.partitions": 5},
                scratch=ctx.scratch) as m:
        # Metadata v1 creates the topics it names (auto.create.topics.enable).
        topics, brokers = raw_metadata_ok(first_broker(m), ["auto"])
        check(len(brokers) == 2, "brokers %r" % brokers)
        check(topics.get("auto") == (0, [0, 1, 2, 3, 4]), "auto-created topic %r" % topics)
        ans = m.cmd_raw('{"op":"requests","broker":0}')
        check(ans == {"ok": False, "error": "\"broker\": no broker 0: brokers are 1..2 (or -1)"},
              "requests of broker 0: %r" % ans)
        m.stop(sig=signal.SIGTERM)
    log("--override num.partitions applied; SIGTERM exits 0")

    with KcMock(ctx.binary, brokers=1, overrides={"auto.create.topics.enable": "false"},
                scratch=ctx.scratch) as m:
        topics, _ = raw_metadata_ok(first_broker(m), ["none"])
        check(topics.get("none", (None,))[0] == UNKNOWN_TOPIC_OR_PARTITION,
              "with auto-creation off: %r" % topics)
        # Still serving after the answer, then SIGINT with a connection open.
        c = RawConn(first_broker(m))
        try:
            c.api_versions()
            m.stop(sig=signal.SIGINT)
        finally:
            c.close()
    log("--override auto.create.topics.enable applied; SIGINT exits 0")

    p = subprocess.run([ctx.binary, "--brokers", "1", "--override", "no.such.property=1"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    err = p.stderr.decode("utf-8", "replace")
    check(p.returncode == 1 and "no.such.property" in err,
          "bad --override: exit %d, stderr %r" % (p.returncode, err))
    check(p.stdout == b"", "bad --override printed %r" % p.stdout)


if __name__ == "__main__":
    run(main)
