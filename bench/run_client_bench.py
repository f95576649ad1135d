#!/usr/bin/python3
"""kc's producer and consumer against librdkafka's, on the same kc-broker.

    bench/run_client_bench.py [BUILD_DIR] [--rounds N] [--sizes 100,1024]
                              [--codecs none,lz4] [--mb MB] [--modes produce,consume]
                              [--data-dir DIR] [--pin] [--out FILE]

Builds nothing: BUILD_DIR (default build/) must hold bin/kc, bin/kc-broker and
bin/rk_client_bench (built with the project when pkg-config finds librdkafka).
`kc bench produce|consume` and rk_client_bench take the same options and print
the same JSON line (both build tools/cmd_bench_stats.c); they differ only in the
client library.

For each record size and codec it starts a fresh kc-broker (one partition per
topic, data in DATA_DIR/client-SIZE-CODEC, deleted afterwards; DATA_DIR is
BUILD_DIR/bench-data unless --data-dir names another, such as a tmpfs, so that
long runs measure the clients rather than the disk's writeback), then

- produce: ROUNDS runs of each client, alternating (kc, rk, rk, kc, kc, rk, ...),
  each against a broker restarted on an empty log and writing MB megabytes of
  record values to a topic of its own (created beforehand with one record, so
  no run pays for topic creation);
- consume: one topic filled once with rk_client_bench (the codec applied by the
  producer, as stored by the broker), then ROUNDS alternating runs of each
  client reading every record from the beginning.

Both clients get the same properties (PRODUCE_PROPS / CONSUME_PROPS, printed
with the results). librdkafka copies each value it is given (RD_KAFKA_MSG_F_COPY),
as kc does; --rk-no-copy hands it the values in place instead (its cheapest
way, which leaves queued values out of its memory). Reports medians of records/s and of peak RSS (VmHWM, read by
each program itself from /proc/self/status at exit), and the ratios
kc / librdkafka; also the median of each round's own ratio (its two runs ran
back to back) and librdkafka's CPU seconds over kc's for the same records.
Writes every run to a JSON file
(default BUILD_DIR/bench-results/client_bench.json). A benchmark, not a test:
it asserts nothing about time.

--pin runs kc-broker on the last CPU and each client on the others (Linux
sched_setaffinity), as when the broker is on a machine of its own. Without
it, on a small machine the two share every core, and the broker's CPU per
GB (the same for both clients) weighs on both clients' figures.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

PRODUCE_PROPS = [
    ("acks", "1"),
    ("linger.ms", "5"),
    ("batch.size", "1000000"),
    ("batch.num.messages", "10000"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "1048576"),
    ("max.in.flight.requests.per.connection", "5"),
    ("enable.idempotence", "false"),
]
CONSUME_PROPS = [
    ("fetch.wait.max.ms", "100"),
    ("fetch.min.bytes", "1"),
    ("fetch.max.bytes", "52428800"),
    ("max.partition.fetch.bytes", "1048576"),
    ("queued.max.messages.kbytes", "65536"),
    ("check.crcs", "false"),
]
CLIENTS = ("kc", "rk")


def machine():
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "loadavg": os.getloadavg()}


def git_describe(src):
    try:
        rev = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


class Broker:
    def __init__(self, bindir, datadir):
        self.bindir, self.datadir = bindir, datadir

    def start(self):
        shutil.rmtree(self.datadir, ignore_errors=True)
        os.makedirs(self.datadir)
        self.log = open(self.datadir + ".log", "w")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "kc-broker"),
             "--override", "listeners=PLAINTEXT://127.0.0.1:0",
             "--override", "log.dirs=" + self.datadir,
             "--override", "num.partitions=1"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, preexec_fn=pinned("broker"))
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"kc-broker did not start (see {self.datadir}.log): {line!r}")
        self.addr = line.split()[-1]
        return self.addr

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


RK_COPY = True
PIN = False  # --pin: broker on the last CPU, clients on the rest


def pinned(which):
    """preexec_fn placing a child on its CPUs under --pin (None without it)."""
    if not PIN:
        return None
    cpus = sorted(os.sched_getaffinity(0))
    want = {cpus[-1]} if which == "broker" else set(cpus[:-1])
    return lambda: os.sched_setaffinity(0, want)


def client_cmd(bindir, client, mode, addr, topic, count, size, props):
    if client == "kc":
        cmd = [os.path.join(bindir, "kc"), "bench", mode]
    else:
        cmd = [os.path.join(bindir, "rk_client_bench"), mode]
        if mode == "produce" and RK_COPY:
            cmd.append("--copy")
    cmd += ["-b", addr, "-t", topic, "-n", str(count), "-p", "0", "--json", "-q"]
    if mode == "produce":
        cmd += ["-s", str(size)]
    for k, v in props:
        cmd += ["-X", f"{k}={v}"]
    return cmd


def run_client(cmd, broker, timeout=600):
    """Runs one benchmark program; its JSON line, or a dict with "error"."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=pinned("client"))
    out, err = "", ""
    while True:
        try:
            out, err = p.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if broker.proc.poll() is not None or time.monotonic() - t0 > timeout:
                p.kill()
                out, err = p.communicate()
                err = "broker exited or time limit hit during the run\n" + err
                break
    lines = [l for l in out.splitlines() if l.startswith("{")]
    res = json.loads(lines[-1]) if lines else {}
    if p.returncode != 0 or not lines:
        tail = " | ".join(err.strip().splitlines()[-3:])
        res.setdefault("error", f"{os.path.basename(cmd[0])} exited {p.returncode}: {tail}")
        if res.get("error") is None:
            res["error"] = f"exit {p.returncode}"
    return res


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def measure(bindir, build, size, codec, args):
    count = max(1, int(args.mb * 1e6 / max(size, 1)))
    data = args.data_dir or os.path.join(build, "bench-data")
    broker = Broker(bindir, os.path.join(data, f"client-{size}-{codec}"))
    addr = broker.start()
    prod_props = PRODUCE_PROPS + [("compression.type", codec)]
    runs = []

    def one(client, mode, topic, rnd, props):
        cmd = client_cmd(bindir, client, mode, addr, topic, count, size, props)
        res = run_client(cmd, broker)
        res.update({"client_id": client, "mode": mode, "codec": codec, "size": size,
                    "round": rnd, "cmd": " ".join(cmd)})
        runs.append(res)
        print(f"  {mode:<7} {size:>5}B {codec:<4} round {rnd} {client}: "
              f"{res.get('records_per_sec') or 0:>10.0f} records/s "
              f"{res.get('mb_per_sec') or 0:>8.1f} MB/s  rss {res.get('rss_kb')} kB"
              f"  p99 {res.get('p99_ms')} ms"
              + (f"  ERROR {res['error']}" if res.get("error") else ""), flush=True)

    def precreate(topic):
        cmd = client_cmd(bindir, "rk", "produce", addr, topic, 1, size, prod_props)
        res = run_client(cmd, broker)
        if res.get("error"):
            raise RuntimeError(f"cannot create topic {topic}: {res['error']}")

    try:
        step = 0
        if "produce" in args.modes:
            for rnd in range(args.rounds):
                order = CLIENTS if step % 2 == 0 else tuple(reversed(CLIENTS))
                step += 1
                for client in order:
                    # A fresh broker per run: the last run's log is deleted,
                    # so this one writes into memory the machine has used
                    # before. On a VM the first touch of memory the guest
                    # never had costs more than the rest of the write, and
                    # a growing log made later runs broker-bound.
                    broker.stop()
                    addr = broker.start()
                    topic = f"p-{client}-{rnd}"
                    precreate(topic)
                    one(client, "produce", topic, rnd, prod_props)
        if "consume" in args.modes:
            # The consumers read exactly `count` records: fill with count - 1
            # after the creating record.
            precreate("c")
            fill = client_cmd(bindir, "rk", "produce", addr, "c", count - 1 if count > 1 else 1,
                              size, prod_props)
            res = run_client(fill, broker)
            if res.get("error"):
                raise RuntimeError(f"cannot fill the consume topic: {res['error']}")
            for rnd in range(args.rounds):
                order = CLIENTS if step % 2 == 0 else tuple(reversed(CLIENTS))
                step += 1
                for client in order:
                    one(client, "consume", "c", rnd, CONSUME_PROPS)
    finally:
        broker.stop()
    return runs


def summarize(runs):
    rows = []
    keys = sorted({(r["mode"], r["size"], r["codec"]) for r in runs},
                  key=lambda k: (k[0] != "produce", k[1], k[2] != "none", k[2]))
    for mode, size, codec in keys:
        row = {"mode": mode, "size": size, "codec": codec}
        for c in CLIENTS:
            ok = [r for r in runs if (r["mode"], r["size"], r["codec"], r["client_id"]) ==
                  (mode, size, codec, c) and not r.get("error")]
            row[f"{c}_runs"] = len(ok)
            for k in ("records_per_sec", "mb_per_sec", "rss_kb", "p50_ms", "p99_ms", "cpu_s"):
                row[f"{c}_{k}"] = median([r.get(k) for r in ok])
        kr, rr = row["kc_records_per_sec"], row["rk_records_per_sec"]
        row["rate_ratio"] = kr / rr if kr and rr else None
        km, rm = row["kc_rss_kb"], row["rk_rss_kb"]
        row["rss_ratio"] = km / rm if km and rm else None
        # Each round's two runs ran back to back on the same machine state:
        # the median of their ratios is steadier than the ratio of medians.
        pairs = []
        for rnd in sorted({r["round"] for r in runs}):
            got = {r["client_id"]: r for r in runs
                   if (r["mode"], r["size"], r["codec"], r["round"]) == (mode, size, codec, rnd)
                   and not r.get("error") and r.get("records_per_sec")}
            if len(got) == 2:
                pairs.append(got["kc"]["records_per_sec"] / got["rk"]["records_per_sec"])
        row["pair_ratios"] = pairs
        row["pair_ratio"] = median(pairs)
        kcpu, rcpu = row["kc_cpu_s"], row["rk_cpu_s"]
        row["cpu_ratio_rk_over_kc"] = rcpu / kcpu if kcpu and rcpu else None
        rows.append(row)
    return rows


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows):
    print()
    print("medians; records/s of record values; RSS = peak resident set (VmHWM) in kB;"
          " CPU = the client process's user+system seconds for the run; ratio = kc / librdkafka;"
          " pairs = median of each round's kc / librdkafka; CPU x = librdkafka's CPU / kc's")
    hdr = ("mode", "size", "codec", "kc rec/s", "rk rec/s", "ratio", "pairs", "kc RSS", "rk RSS",
           "RSS ratio", "kc CPU s", "rk CPU s", "CPU x", "kc p99 ms", "rk p99 ms", "runs")
    line = "%-8s %6s %-5s %11s %11s %6s %6s %8s %8s %9s %8s %8s %6s %9s %9s %5s"
    print(line % hdr)
    for r in rows:
        print(line % (r["mode"], f"{r['size']}B", r["codec"],
                      fmt(r["kc_records_per_sec"], ".0f"), fmt(r["rk_records_per_sec"], ".0f"),
                      fmt(r["rate_ratio"], ".2f"), fmt(r["pair_ratio"], ".2f"),
                      fmt(r["kc_rss_kb"], ".0f"),
                      fmt(r["rk_rss_kb"], ".0f"), fmt(r["rss_ratio"], ".2f"),
                      fmt(r["kc_cpu_s"], ".2f"), fmt(r["rk_cpu_s"], ".2f"),
                      fmt(r["cpu_ratio_rk_over_kc"], ".2f"),
                      fmt(r["kc_p99_ms"], ".1f"), fmt(r["rk_p99_ms"], ".1f"),
                      f"{r['kc_runs']}/{r['rk_runs']}"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="100,1024")
    ap.add_argument("--codecs", default="none,lz4")
    ap.add_argument("--mb", type=float, default=50,
                    help="megabytes of record values per run (default 50)")
    ap.add_argument("--modes", default="produce,consume")
    ap.add_argument("--rk-no-copy", action="store_true",
                    help="librdkafka references values in place instead of copying them")
    ap.add_argument("--data-dir",
                    help="where the broker keeps its log (default BUILD_DIR/bench-data)")
    ap.add_argument("--pin", action="store_true",
                    help="kc-broker on the last CPU, the clients on the others")
    ap.add_argument("--out")
    args = ap.parse_args()
    global RK_COPY, PIN
    RK_COPY = not args.rk_no_copy
    PIN = args.pin
    if PIN and len(os.sched_getaffinity(0)) < 2:
        sys.exit("run_client_bench: --pin needs at least 2 CPUs")
    args.modes = args.modes.split(",")

    build = os.path.abspath(args.build)
    bindir = os.path.join(build, "bin")
    missing = [n for n in ("kc", "kc-broker", "rk_client_bench")
               if not os.access(os.path.join(bindir, n), os.X_OK)]
    if missing:
        sys.exit(f"run_client_bench: missing in {bindir}: {', '.join(missing)} "
                 "(build the project; rk_client_bench needs librdkafka-dev)")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    info = {"machine": machine(), "source": git_describe(src), "build": build,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "mb_per_run": args.mb, "rounds": args.rounds, "rk_copy": RK_COPY, "pin": PIN,
            "data_dir": args.data_dir or os.path.join(build, "bench-data"),
            "produce_props": dict(PRODUCE_PROPS), "consume_props": dict(CONSUME_PROPS)}
    m = info["machine"]
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, load {m['loadavg'][0]:.1f}; "
          f"source {info['source']}; {args.mb} MB per run, {args.rounds} rounds"
          + ("; broker and clients on separate CPUs (--pin)" if PIN else ""), flush=True)

    runs = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for codec in args.codecs.split(","):
            runs += measure(bindir, build, size, codec, args)
    rows = summarize(runs)
    print_table(rows)
    info["machine"]["loadavg_end"] = os.getloadavg()
    out = args.out or os.path.join(build, "bench-results", "client_bench.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"info": info, "summary": rows, "runs": runs}, f, indent=1)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
