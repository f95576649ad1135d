"""kcat against kc-mock: a keyed round trip through a 3-broker cluster
(every message exactly once, in order per partition), again after a
partition's leader moved and with Produce errors queued on the control
channel, and the request log showing what kcat sent."""
from kcbroker import check, check_in_send_order, log, require_tool, run, run_tool
from kcmock import KcMock

N = 2000


def roundtrip(kcat, bootstrap, topic, rng, tag):
    sent = ["%s-%s-%05d-%s" % (topic, tag, i, "x" * rng.randrange(0, 100)) for i in range(N)]
    keys = ["key%02d" % rng.randrange(30) for _ in range(N)]
    lines = "".join("%s\t%s\n" % (k, v) for k, v in zip(keys, sent))
    run_tool([kcat, "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "acks=all",
              "-X", "linger.ms=5", "-X", "message.timeout.ms=30000"], 60, input=lines.encode(),
             what="kcat -P " + topic)
    out = run_tool([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                    "-f", "%p %o %k %s\\n"], 60, what="kcat -C " + topic).stdout.decode()
    key_of = dict(zip(sent, keys))
    got = []
    for line in out.splitlines():
        p, o, k, v = line.split(" ", 3)
        if tag not in v:
            continue  # an earlier round's
        check(key_of.get(v) == k, "%s: %r came back with key %r" % (topic, v, k))
        got.append((int(p), int(o), k, v))
    check_in_send_order(sent, got, "kcat " + topic, key_of=key_of.get)
    return got


def main(ctx):
    kcat = require_tool("kcat", "kcat")
    with KcMock(ctx.binary, brokers=3, topics=["t:3:2"], scratch=ctx.scratch) as m:
        got = roundtrip(kcat, m.bootstrap, "t", ctx.rng, "a")
        check(sorted({p for p, _, _, _ in got}) == [0, 1, 2], "partitions used: %r" % got[:3])
        reqs = m.requests()
        apis = {r["api"] for r in reqs}
        for api in ("ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets"):
            check(api in apis, "the request log lacks %s: %r" % (api, sorted(apis)))
        check(all(r["client_id"] == "rdkafka" for r in reqs if r["api"] == "Produce"),
              "Produce client ids: %r" % {r["client_id"] for r in reqs})

        # The leader of partition 1 moves; Produce errors are queued on every
        # broker. kcat (librdkafka) retries and follows the new leader.
        m.cmd(op="set_leader", topic="t", partition=1, leader=3)
        m.cmd(op="set_leader", topic="t", partition=1, leader=2)
        m.cmd(op="push_errors", api="Produce",
              errors=["NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS"])
        m.cmd(op="clear_requests")
        roundtrip(kcat, m.bootstrap, "t", ctx.rng, "b")
        injected = [r for r in m.requests() if r["injected_error"] != "NO_ERROR"]
        check(len(injected) == 3, "injected errors answered: %r" % injected)
        log("kcat round trips passed; %d injected errors answered" % len(injected))


if __name__ == "__main__":
    run(main)
