"""confluent-kafka-python (librdkafka) with enable.idempotence=true against a
3-broker kc-mock while faults come in on the control channel: retriable
Produce errors on every broker and on one, delayed errors, connections
closed under in-flight requests, a partition's leader moving. Every message
must be acknowledged once, and the topic must hold each exactly once, in
send order per partition (no duplicates, no loss).

One message per partition is produced and acknowledged before the faults
start. Kafka (2.5 and later, and so kc-broker and kc-mock) accepts any
sequence number from a producer it holds no state for on a partition, so
that a producer whose state retention removed can go on. Until a
partition's first batch is acknowledged, an injected error that drops that
batch while a later one in flight is written leaves a gap the broker cannot
see, and librdkafka 2.0.2, which pipelines before its first acknowledgement,
then reports the dropped messages delivered without an offset (it infers
them persisted from the later acknowledgement). docs/mock.md says so.

The injected codes are ones a broker answers before it writes anything. An
injected error is never served, and REQUEST_TIMED_OUT or
NOT_ENOUGH_REPLICAS_AFTER_APPEND, which a real broker answers after
writing, make librdkafka count the batch as possibly written; when the next
batch then meets a gap, librdkafka 2.0.2 stops with a fatal sequence error
(seen here before these codes were taken out)."""
import threading
import time

from kcbroker import check, check_exactly_once, log, run
from kcmock import KcMock

N = 6000
TOPIC = "idem"


def faults(m, stop, counts):
    """Injects a round of faults every few tens of milliseconds."""
    rounds = [
        lambda: m.cmd(op="push_errors", api="Produce",
                      errors=["NOT_LEADER_OR_FOLLOWER", "NOT_ENOUGH_REPLICAS"]),
        lambda: m.cmd(op="push_errors", api="Produce", broker=2,
                      errors=["NOT_ENOUGH_REPLICAS", "LEADER_NOT_AVAILABLE"],
                      rtt_ms=[50, 0]),
        lambda: m.cmd(op="close_connections", broker=1),
        lambda: m.cmd(op="set_leader", topic=TOPIC, partition=counts["moves"] % 3,
                      leader=1 + (counts["moves"] % 3 + 1) % 3),
        lambda: m.cmd(op="push_errors", api="Produce", errors=["LEADER_NOT_AVAILABLE"]),
        lambda: m.cmd(op="close_connections"),
    ]
    i = 0
    while not stop.is_set():
        rounds[i % len(rounds)]()
        if i % len(rounds) == 3:
            counts["moves"] += 1
        counts["rounds"] += 1
        i += 1
        time.sleep(0.03)


def main(ctx):
    import confluent_kafka as ck
    with KcMock(ctx.binary, brokers=3, topics=["%s:3:3" % TOPIC], scratch=ctx.scratch) as m:
        p = ck.Producer({"bootstrap.servers": m.bootstrap, "enable.idempotence": True,
                         "linger.ms": 2, "batch.num.messages": 50,
                         "message.timeout.ms": 120000, "retry.backoff.ms": 20})
        reports = []

        def on_delivery(err, msg):
            reports.append((err, msg.partition(), msg.offset(), msg.value()))

        sent = []
        for part in range(3):
            v = b"w-%d" % part
            sent.append(v.decode())
            p.produce(TOPIC, partition=part, value=v, on_delivery=on_delivery)
        check(p.flush(30) == 0, "the warm-up messages were not acknowledged")

        stop = threading.Event()
        counts = {"rounds": 0, "moves": 0}
        t = threading.Thread(target=faults, args=(m, stop, counts))
        t.start()
        try:
            for i in range(N - len(sent)):
                v = b"m-%06d" % i
                sent.append(v.decode())
                while True:
                    try:
                        p.produce(TOPIC, key=b"k%d" % (i % 11), value=v, on_delivery=on_delivery)
                        break
                    except BufferError:
                        p.poll(0.05)
                p.poll(0)
                if i % 100 == 0:
                    time.sleep(0.02)  # let faults land between batches
        finally:
            stop.set()
            t.join()
        left = p.flush(120)
        check(left == 0, "%d messages still queued after flush" % left)
        errors = [r for r in reports if r[0] is not None]
        check(not errors, "failed deliveries: %r" % errors[:5])
        check(len(reports) == N, "%d delivery reports for %d messages" % (len(reports), N))
        no_offset = [r[3] for r in reports if r[2] is None or r[2] < 0]
        check(not no_offset, "delivered without an offset (inferred): %r" % no_offset[:5])
        injected = [r for r in m.requests() if r["injected_error"] != "NO_ERROR"]
        log("%d fault rounds, %d leader moves, %d requests answered with injected errors"
            % (counts["rounds"], counts["moves"], len(injected)))
        check(len(injected) > 0, "no injected error reached the producer")

        c = ck.Consumer({"bootstrap.servers": m.bootstrap, "group.id": "check",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe([TOPIC])
        got = []
        consumer_errors = []
        deadline = time.monotonic() + 60
        while len(got) < N and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                consumer_errors.append(str(msg.error()))
                continue
            got.append((msg.partition(), msg.offset(), msg.key(), msg.value().decode()))
        if len(got) < N:
            # What the reader saw, so a shortfall can be told from a hang.
            per_part = {}
            for g in got:
                per_part[g[0]] = per_part.get(g[0], 0) + 1
            log("read %d of %d within 60 s, per partition %r, assignment %r, errors %r"
                % (len(got), N, per_part, c.assignment(), consumer_errors[:10]))
        time.sleep(0.5)  # anything past N would be a duplicate
        while True:
            msg = c.poll(0.2)
            if msg is None:
                break
            if not msg.error():
                got.append((msg.partition(), msg.offset(), msg.key(), msg.value().decode()))
        c.close()
        if len(got) != N:
            # Where the reader's offsets start and what it read first, and
            # what the producer's reports said, per partition.
            for part in sorted({g[0] for g in got}):
                mine = sorted((g[1], g[3]) for g in got if g[0] == part)
                reps = sorted(((r[2] if r[2] is not None else -1), r[3].decode())
                              for r in reports if r[1] == part)
                log("partition %d: read offsets %d..%d, first %r; reports say first %r"
                    % (part, mine[0][0], mine[-1][0], mine[:3], reps[:3]))
        part_of = {r[3].decode(): r[1] for r in reports}
        sent_by_part = {}
        for v in sent:
            sent_by_part.setdefault(part_of[v], []).append(v)
        check_exactly_once(sent_by_part, [(g[0], g[1], g[3]) for g in got],
                           "idempotent producer under faults")
        log("%d messages, each exactly once, in order per partition" % len(got))


if __name__ == "__main__":
    run(main)
