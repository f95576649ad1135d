"""kill -9 while producing. kc-broker runs with log.flush.interval.messages=1
(an acknowledgement means the batch was fsynced). An idempotent
confluent-kafka producer (acks=all) sends numbered records from a thread and
keeps every acknowledged (partition, offset, number); the broker is killed
with SIGKILL at random moments, several times, and restarted on the same dir
and port, and the producer reconnects by itself. At the end a consumer with
CRC checks on reads everything back:

- every acknowledged record is there, at the offset its acknowledgement gave;
- the log reads back cleanly (no consumer errors, no CRC failures);
- each partition holds its numbers in increasing order, each at most once
  (records that were never acknowledged may be there or not).
"""
import threading
import time

from kcbroker import check, log, require_module, run, wait_for

KILLS = 5
PARTITIONS = 3


class Producer(threading.Thread):
    def __init__(self, ck, bootstrap):
        super().__init__(daemon=True)
        self.ck = ck
        self.p = ck.Producer({
            "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 2, "message.timeout.ms": 120000, "queue.buffering.max.messages": 2000,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
            "socket.connection.setup.timeout.ms": 5000, "client.id": "kc-interop-kill9"})
        self.lock = threading.Lock()
        self.acked = []  # (partition, offset, number)
        self.failed = []
        self.fatal = None
        self.sent = 0
        self.stopping = threading.Event()

    def on_delivery(self, err, msg):
        with self.lock:
            if err is not None:
                self.failed.append((int(msg.value().split(b"-")[1]), str(err)))
                if err.fatal():
                    self.fatal = str(err)
            else:
                self.acked.append((msg.partition(), msg.offset(), int(msg.value().split(b"-")[1])))

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        while not self.stopping.is_set():
            value = b"rec-%08d-%s" % (self.sent, b"p" * (self.sent % 97))
            try:
                self.p.produce("crash", value=value, key=b"k%d" % (self.sent % 31),
                               on_delivery=self.on_delivery)
                self.sent += 1
            except BufferError:
                self.p.poll(0.01)
            self.p.poll(0)
        left = self.p.flush(120)
        with self.lock:
            self.undelivered = left


def main(ctx):
    ck = require_module("confluent_kafka", "python3-confluent-kafka")
    b = ctx.broker({"num.partitions": str(PARTITIONS), "log.flush.interval.messages": "1"})
    prod = Producer(ck, b.bootstrap)
    prod.start()
    wait_for(lambda: prod.acked_count() >= 200, 60, "the first 200 acknowledgements")
    for k in range(KILLS):
        time.sleep(ctx.rng.uniform(0.05, 0.6))  # a random moment, not a wait for a condition
        before = prod.acked_count()
        b.kill9()
        log("kill -9 #%d after %d acks, %d sent" % (k + 1, before, prod.sent))
        b.start()
        wait_for(lambda: prod.acked_count() >= before + 200 or prod.fatal, 90,
                 "200 more acknowledgements after restart #%d (have %d)"
                 % (k + 1, prod.acked_count() - before))
        check(not prod.fatal, "the producer hit a fatal error: %s" % prod.fatal)
    prod.stopping.set()
    prod.join(150)
    check(not prod.is_alive(), "the producer did not finish flushing")
    check(not prod.fatal, "the producer hit a fatal error: %s" % prod.fatal)
    log("producer: %d sent, %d acknowledged, %d failed, %d undelivered"
        % (prod.sent, len(prod.acked), len(prod.failed), prod.undelivered))
    check(not prod.failed, "delivery failures: %r" % prod.failed[:5])

    # A clean stop and start first: the restarted log must also survive that.
    b.restart()
    c = ck.Consumer({"bootstrap.servers": b.bootstrap, "group.id": "g-crash",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "check.crcs": True, "auto.offset.reset": "earliest"})
    c.assign([ck.TopicPartition("crash", p, ck.OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = {}
    eof = set()
    errors = []

    def step():
        for m in c.consume(1000, 0.1):
            if m.error():
                if m.error().code() == ck.KafkaError._PARTITION_EOF:
                    eof.add(m.partition())
                else:
                    errors.append(str(m.error()))
                continue
            eof.discard(m.partition())
            got.setdefault(m.partition(), []).append(
                (m.offset(), int(m.value().split(b"-")[1])))
        return errors or len(eof) == PARTITIONS
    wait_for(step, 120, "reading every partition to its end")
    c.close()
    check(not errors, "consumer errors: %r" % errors[:5])

    at = {}
    for p, recs in got.items():
        offs = [o for o, _ in recs]
        nums = [n for _, n in recs]
        check(all(x < y for x, y in zip(offs, offs[1:])), "partition %d: offsets not increasing" % p)
        for i in range(1, len(nums)):
            check(nums[i] > nums[i - 1], "partition %d: record %d at offset %d follows %d at %d"
                  % (p, nums[i], offs[i], nums[i - 1], offs[i - 1]))
        for o, n in recs:
            at[(p, o)] = n
    lost = [(p, o, n) for p, o, n in prod.acked if at.get((p, o)) != n]
    check(not lost, "%d acknowledged records lost or moved, e.g. (partition, offset, number) %r "
          "(found %r)" % (len(lost), lost[:5], [at.get((p, o)) for p, o, _ in lost[:5]]))
    total = sum(len(r) for r in got.values())
    log("read %d records back; all %d acknowledged ones at their offsets, %d never acknowledged"
        % (total, len(prod.acked), total - len(prod.acked)))


if __name__ == "__main__":
    run(main)
