#!/usr/bin/python3
"""kc-broker against librdkafka's mock cluster, with one librdkafka load generator.

    bench/run_broker_bench.py [BUILD_DIR] [--rounds N] [--sizes 100,1024]
                              [--mb MB] [--peers kc,mock] [--out FILE]

Builds nothing: BUILD_DIR (default build/) must hold bin/kc-broker,
bin/bench_loopback, bin/bench_recv_store, bin/bench_fetch_raw, and bin/rk_loadgen and bin/rk_mock_host
(built with the project when pkg-config finds librdkafka). For each record size and round, and for each
peer (the order alternates between rounds and sizes), it starts the peer fresh,
produces MB megabytes of records with rk_loadgen (acks=1, linger.ms=5), then
consumes them back from the beginning, and reads the peer's CPU time (the
sum of its threads' /proc schedstat run times, in ns) before and after each
phase. kc-broker writes
to BUILD_DIR/bench-data (the real disk, default flush policy); its fetch phase
reads files still in the page cache. librdkafka's mock keeps only the newest
~5 MB of a partition, so its consumer seeks back to the log start whenever it
reaches the end (rk_loadgen --rewind) until it has read as many records.
A third phase fetches the same records with bench_fetch_raw, a client that
only walks batch headers as the responses stream through a 1 MiB buffer and
sends the next fetch as soon as a response's last batch header arrives:
librdkafka's consumer builds a message per record and, with small records,
sets the pace itself; the raw phase shows what the broker serves. It reads the
log RAW_PASSES times over (--raw-passes, default 5; back to the log start at
its end), since one pass of 200 MB lasts under 0.1 s.

Once per round bench_loopback measures one loopback TCP connection four
times: write() from memory (the target's yardstick), sendfile() from a 256 MiB
file in the page cache on the brokers' disk, pread() of that file into
memory followed by write(), and write() from a mapping of each 1 MiB of it
(what kc-broker does for a large Fetch). Both report CPU seconds per GB
for both ends, which is compared with the broker's plus the raw client's
CPU per GB of responses: on a shared machine, CPU per GB is the steadier
figure.

Once per round bench_recv_store measures the floor under produce: what
receiving a loopback connection's bytes and pwrite()-ing them to a file on the
brokers' disk costs a receiver that does nothing else (and what receiving and
copying them into memory costs, roughly the mock's work). kc-broker's produce
CPU per GB is reported against that floor as well as against the mock.

Prints a table with CPU seconds per GB of record values moved and the ratios
the benchmark targets (kc produce CPU/GB at most half the mock's; kc fetch at
least 70% of one loopback TCP connection), and writes every measurement to a
JSON file (default BUILD_DIR/bench-results/broker_bench.json). A benchmark,
not a test: it asserts nothing about time.
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

CLK_TCK = os.sysconf("SC_CLK_TCK")
TOPIC = "bench"
PHASES = ("produce", "consume", "fetch_raw")


def proc_cpu(pid):
    """CPU time of a process in seconds, all its threads: the sum of each
    thread's /proc/<pid>/task/<tid>/schedstat run time (nanoseconds), else
    utime + stime of /proc/<pid>/stat (clock ticks, 10 ms). Both brokers keep
    their threads for their whole life, so no thread's time is lost between
    two readings; the tick count was too coarse for 0.2 s phases."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        # The command name may hold spaces: split after its closing parenthesis.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_write_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def machine():
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg": os.getloadavg(),
    }


def git_describe(src):
    try:
        rev = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


class Peer:
    """A broker process under measurement: start() returns its bootstrap address."""

    def __init__(self, name):
        self.name = name
        self.proc = None

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def write_bytes(self):
        return proc_write_bytes(self.proc.pid)


class KcBroker(Peer):
    def __init__(self, bindir, datadir):
        super().__init__("kc")
        self.bindir = bindir
        self.datadir = datadir

    def start(self):
        shutil.rmtree(self.datadir, ignore_errors=True)
        os.makedirs(self.datadir)
        self.log = open(self.datadir + ".log", "w")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "kc-broker"),
             "--override", "listeners=PLAINTEXT://127.0.0.1:0",
             "--override", "log.dirs=" + self.datadir,
             "--override", "num.partitions=1"],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"kc-broker did not start (see {self.datadir}.log): {line!r}")
        return line.split()[-1]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


class MockCluster(Peer):
    def __init__(self, bindir):
        super().__init__("mock")
        self.bindir = bindir

    def start(self):
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "rk_mock_host"), f"{TOPIC}:1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line:
            raise RuntimeError("rk_mock_host did not start")
        return line

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_client(cmd, peer):
    """Runs a client to completion, or stops it when the peer process exits
    meanwhile (on a shared machine something else may kill it), so a lost
    peer costs an error line instead of a client waiting for its timeout."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        while True:
            try:
                out, err = p.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if peer.proc.poll() is not None:
                    p.terminate()
                    out, err = p.communicate()
                    err = f"{peer.name} exited ({peer.proc.returncode}) during the phase\n" + err
                    break
    lines = [l for l in out.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if p.returncode != 0 or not lines:
        tail = " | ".join(err.strip().splitlines()[:1] + err.strip().splitlines()[-2:])
        result.setdefault("error", f"{os.path.basename(cmd[0])} exited {p.returncode}: {tail}")
    return result


def run_loadgen(bindir, peer, bootstrap, phase, count, size, rewind):
    cmd = [os.path.join(bindir, "rk_loadgen"), "--bootstrap", bootstrap, "--topic", TOPIC,
           "--count", str(count), "--size", str(size), "--" + phase]
    if rewind:
        cmd.append("--rewind")
    return run_client(cmd, peer)


def run_fetch_raw(bindir, peer, bootstrap, count, rewind):
    cmd = [os.path.join(bindir, "bench_fetch_raw"), "--bootstrap", bootstrap, "--topic", TOPIC,
           "--count", str(count), "--json"]
    if rewind:
        cmd.append("--rewind")
    result = run_client(cmd, peer)
    # MB/s here counts response bytes (the client does not look at values).
    result["mb_per_s"] = result.get("wire_mb_per_s")
    return result


def measure_peer(peer, bindir, size, count, raw, raw_passes):
    """One fresh peer: produce `count` records of `size` bytes, fetch them back with
    librdkafka, then (raw) with bench_fetch_raw, raw_passes times over."""
    bootstrap = peer.start()
    out = {"peer": peer.name, "record_bytes": size, "records": count}
    rewind = peer.name == "mock"
    try:
        for phase in ("produce", "consume") + (("fetch_raw",) if raw else ()):
            cpu0, wb0, t0 = peer.cpu(), peer.write_bytes(), time.monotonic()
            passes = raw_passes if phase == "fetch_raw" else 1
            if phase == "fetch_raw":
                # Several passes over the log (rewinding at its end): one pass
                # of 200 MB lasts under 0.1 s, too short to time.
                res = run_fetch_raw(bindir, peer, bootstrap, count * passes,
                                    rewind or passes > 1)
            else:
                res = run_loadgen(bindir, peer, bootstrap, phase, count, size,
                                  rewind=(phase == "consume" and rewind))
            cpu1, wb1, t1 = peer.cpu(), peer.write_bytes(), time.monotonic()
            # CPU per GB of record values, the same yardstick for every phase.
            gb = count * passes * size / 1e9
            cpu = cpu1 - cpu0
            out[phase] = {
                "mb_per_s": res.get("mb_per_s"),
                "records_per_s": res.get("records_per_s"),
                "elapsed_s": res.get("elapsed_s"),
                "client_cpu_s": res.get("loadgen_cpu_s", res.get("client_cpu_s")),
                "broker_cpu_s": round(cpu, 3),
                "broker_cpu_s_per_gb": round(cpu / gb, 3),
                "phase_wall_s": round(t1 - t0, 3),
                "broker_disk_write_bytes": (wb1 - wb0) if wb0 is not None and wb1 is not None
                else None,
                "client": res,
            }
            if phase == "fetch_raw" and res.get("wire_bytes") and res.get("client_cpu_s") \
                    is not None:
                # Broker and client CPU per GB of response bytes: what
                # bench_loopback's "both ends" figure is, for the same bytes.
                out[phase]["both_cpu_s_per_wire_gb"] = round(
                    (cpu + res["client_cpu_s"]) / (res["wire_bytes"] / 1e9), 3)
            if "error" in res:
                out[phase]["error"] = res["error"]
                if phase == "produce" or peer.proc.poll() is not None:
                    break
    finally:
        peer.stop()
    return out


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def summarize(runs, lb):
    loopback_mb_s = lb.get("write_mb_s")
    rows = []
    for size in sorted({r["record_bytes"] for r in runs}):
        row = {"record_bytes": size}
        for peer in ("kc", "mock"):
            mine = [r for r in runs if r["peer"] == peer and r["record_bytes"] == size]
            for phase in PHASES:
                ok = [r[phase] for r in mine if phase in r and "error" not in r[phase]]
                row[f"{peer}_{phase}_mb_per_s"] = median([p["mb_per_s"] for p in ok])
                row[f"{peer}_{phase}_cpu_s_per_gb"] = median(
                    [p["broker_cpu_s_per_gb"] for p in ok])
                row[f"{peer}_{phase}_runs"] = len(ok)
            row[f"{peer}_fetch_raw_both_cpu_s_per_wire_gb"] = median(
                [r["fetch_raw"].get("both_cpu_s_per_wire_gb") for r in mine
                 if "fetch_raw" in r and "error" not in r["fetch_raw"]])
        kc_p, mock_p = row["kc_produce_cpu_s_per_gb"], row["mock_produce_cpu_s_per_gb"]
        row["produce_cpu_ratio_kc_over_mock"] = (kc_p / mock_p) if kc_p and mock_p else None
        for phase in ("consume", "fetch_raw"):
            kc_f = row[f"kc_{phase}_mb_per_s"]
            row[f"{phase}_ratio_kc_over_loopback"] = (kc_f / loopback_mb_s) \
                if kc_f and loopback_mb_s else None
        kc_raw = row["kc_fetch_raw_mb_per_s"]
        sf = lb.get("sendfile_mb_s")
        row["fetch_raw_ratio_kc_over_loopback_sendfile"] = (kc_raw / sf) if kc_raw and sf else None
        mm = lb.get("mmap_mb_s")
        row["fetch_raw_ratio_kc_over_loopback_mmap"] = (kc_raw / mm) if kc_raw and mm else None
        # Throughput a broker and its client would reach with the CPU a
        # loopback connection needs (write, both ends), as a share of it.
        kc_cpu, lb_cpu = row["kc_fetch_raw_both_cpu_s_per_wire_gb"], lb.get("write_cpu_s_per_gb")
        row["fetch_raw_cpu_ratio_loopback_over_kc"] = (lb_cpu / kc_cpu) if kc_cpu and lb_cpu \
            else None
        floor = lb.get("recv_pwrite_cpu_s_per_gb")
        row["produce_cpu_ratio_kc_over_floor"] = (kc_p / floor) if kc_p and floor else None
        mem = lb.get("recv_memcpy_cpu_s_per_gb")
        row["produce_cpu_ratio_mock_over_memfloor"] = (mock_p / mem) if mock_p and mem else None
        rows.append(row)
    return rows


def print_table(rows, lb):
    loopback_mb_s = lb.get("write_mb_s")
    print()
    print(f"one loopback TCP connection: {fmt(loopback_mb_s, '.0f')} MB/s (median, write() from "
          f"memory), {fmt(lb.get('write_cpu_s_per_gb'))} CPU-s/GB both ends; sendfile from a "
          f"{fmt(lb.get('sendfile_file_mb'), '.0f')} MB file in the page cache: "
          f"{fmt(lb.get('sendfile_mb_s'), '.0f')} MB/s, "
          f"{fmt(lb.get('sendfile_cpu_s_per_gb'))} CPU-s/GB; pread()+write() of that file: "
          f"{fmt(lb.get('pread_mb_s'), '.0f')} MB/s, {fmt(lb.get('pread_cpu_s_per_gb'))} CPU-s/GB; "
          f"write() from a mapping of it: {fmt(lb.get('mmap_mb_s'), '.0f')} MB/s, "
          f"{fmt(lb.get('mmap_cpu_s_per_gb'))} CPU-s/GB")
    print("MB/s: produce and fetch(rk) = record values per second seen by librdkafka; "
          "fetch(raw) = Fetch response bytes per second (bench_fetch_raw).")
    print("CPU/GB: broker process CPU seconds per GB of record values. Medians over rounds.")
    hdr = ("size", "peer", "prod MB/s", "CPU/GB", "fetch(rk) MB/s", "CPU/GB", "fetch(raw) MB/s",
           "CPU/GB")
    line = "%-6s %-5s %10s %7s %15s %7s %16s %7s"
    print(line % hdr)
    for row in rows:
        for peer in ("kc", "mock"):
            print(line % (
                f"{row['record_bytes']}B", peer,
                fmt(row[f"{peer}_produce_mb_per_s"], ".1f"),
                fmt(row[f"{peer}_produce_cpu_s_per_gb"], ".2f"),
                fmt(row[f"{peer}_consume_mb_per_s"], ".1f"),
                fmt(row[f"{peer}_consume_cpu_s_per_gb"], ".2f"),
                fmt(row[f"{peer}_fetch_raw_mb_per_s"], ".1f"),
                fmt(row[f"{peer}_fetch_raw_cpu_s_per_gb"], ".2f")))
    print()

    def verdict(v, ok):
        return "" if v is None else ("(target met)" if ok(v) else "(target missed)")

    print("%-6s %-34s %-34s %-34s" % ("size", "produce CPU/GB kc/mock (<= 0.5)",
                                       "kc fetch(rk) / loopback (client-paced)",
                                       "kc fetch(raw) / loopback (>= 70%)"))
    for row in rows:
        r1 = row["produce_cpu_ratio_kc_over_mock"]
        r2, r3 = row["consume_ratio_kc_over_loopback"], row["fetch_raw_ratio_kc_over_loopback"]
        print("%-6s %-34s %-34s %-34s" % (
            f"{row['record_bytes']}B",
            f"{fmt(r1, '.2f')} {verdict(r1, lambda v: v <= 0.5)}",
            # librdkafka's consumer sets this pace itself (a message per
            # record): the target is judged on the raw client's column.
            "-" if r2 is None else f"{r2 * 100:.0f}%",
            ("-" if r3 is None else f"{r3 * 100:.0f}% ") + verdict(r3, lambda v: v >= 0.7)))
    print()
    print(f"produce floor (bench_recv_store, receiver only): recv+pwrite "
          f"{fmt(lb.get('recv_pwrite_cpu_s_per_gb'))} CPU-s/GB, recv alone "
          f"{fmt(lb.get('recv_cpu_s_per_gb'))}, recv+memcpy {fmt(lb.get('recv_memcpy_cpu_s_per_gb'))}")
    print("%-6s %-34s %-34s" % ("size", "kc produce CPU / recv+pwrite", "mock produce CPU / recv+memcpy"))
    for row in rows:
        r7, r8 = row["produce_cpu_ratio_kc_over_floor"], row["produce_cpu_ratio_mock_over_memfloor"]
        print("%-6s %-34s %-34s" % (f"{row['record_bytes']}B", fmt(r7), fmt(r8)))
    print()
    print("%-6s %-34s %-34s %-34s %-34s" % ("size", "kc fetch(raw) / loopback sendfile",
                                            "kc fetch(raw) / loopback mmap",
                                            "fetch(raw) CPU/GB broker+client",
                                            "loopback CPU / kc CPU"))
    for row in rows:
        r4, r5 = row["fetch_raw_ratio_kc_over_loopback_sendfile"], \
            row["fetch_raw_cpu_ratio_loopback_over_kc"]
        r6 = row["fetch_raw_ratio_kc_over_loopback_mmap"]
        print("%-6s %-34s %-34s %-34s %-34s" % (
            f"{row['record_bytes']}B", "-" if r4 is None else f"{r4 * 100:.0f}%",
            "-" if r6 is None else f"{r6 * 100:.0f}%",
            f"kc {fmt(row['kc_fetch_raw_both_cpu_s_per_wire_gb'])}, "
            f"mock {fmt(row['mock_fetch_raw_both_cpu_s_per_wire_gb'])}",
            "-" if r5 is None else f"{r5 * 100:.0f}%"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sizes", default="100,1024")
    ap.add_argument("--mb", type=float, default=200,
                    help="megabytes of record values per size and peer (default 200)")
    ap.add_argument("--peers", default="kc,mock")
    ap.add_argument("--loopback-gb", type=float, default=2,
                    help="GB per bench_loopback round (3 rounds per benchmark round)")
    ap.add_argument("--raw-passes", type=int, default=5,
                    help="times the raw client reads the produced records (default 5)")
    ap.add_argument("--no-raw", dest="raw", action="store_false",
                    help="skip the bench_fetch_raw phase")
    ap.add_argument("--out")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    bindir = os.path.join(build, "bin")
    need = ["rk_loadgen", "bench_loopback", "bench_recv_store"] + \
        (["bench_fetch_raw"] if args.raw else [])
    peers = args.peers.split(",")
    need += (["kc-broker"] if "kc" in peers else []) + (["rk_mock_host"] if "mock" in peers else [])
    missing = [n for n in need if not os.access(os.path.join(bindir, n), os.X_OK)]
    if missing:
        sys.exit(f"run_broker_bench: missing in {bindir}: {', '.join(missing)} "
                 "(build the project; rk_* need librdkafka-dev)")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    info = {"machine": machine(), "source": git_describe(src), "build": build,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "mb_per_size": args.mb, "rounds": args.rounds, "raw_passes": args.raw_passes}
    print(f"machine: {info['machine']['nproc']} CPUs, {info['machine']['cpu_model']}, "
          f"load {info['machine']['loadavg'][0]:.1f}; source {info['source']}")

    loopbacks = []
    sendfiles = []
    preads = []
    mmaps = []
    lb_dir = os.path.join(build, "bench-data")
    lb_file_bytes = 256 << 20

    def measure_loopback():
        # Once per round, between the peers' runs, so the baseline sees the
        # same machine load as they do: write() from memory (the target's
        # yardstick), and sendfile() from a file much larger than the CPU
        # caches on the brokers' disk (what serving a log from the page cache
        # costs the kernel), and pread() of that file into memory then
        # write() (the way to serve it without sendfile), and write() from a
        # mapping of each piece of it (what kc-broker does).
        os.makedirs(lb_dir, exist_ok=True)
        from_file = ["--sendfile", lb_dir, "--file-bytes", str(lb_file_bytes)]
        for extra, into in (([], loopbacks), (from_file, sendfiles),
                            (from_file + ["--pread"], preads), (from_file + ["--mmap"], mmaps)):
            lb = subprocess.run([os.path.join(bindir, "bench_loopback"), "--bytes",
                                 str(int(args.loopback_gb * 1e9)), "--rounds", "3", "--json"]
                                + extra, capture_output=True, text=True)
            if lb.returncode != 0:
                print(f"bench_loopback failed: {lb.stderr.strip()}")
                continue
            print(lb.stdout.strip().splitlines()[-2], flush=True)
            into.append(json.loads(lb.stdout.strip().splitlines()[-1]))

    floors = []

    def measure_floor():
        # The receiver's cost of storing what it reads, on the brokers' disk,
        # once per round like the loopback figures.
        os.makedirs(lb_dir, exist_ok=True)
        rs = subprocess.run([os.path.join(bindir, "bench_recv_store"), "--mb",
                             str(int(args.mb)), "--rounds", "3", "--dir", lb_dir, "--json"],
                            capture_output=True, text=True)
        if rs.returncode != 0:
            print(f"bench_recv_store failed: {rs.stderr.strip()}")
            return
        res = json.loads(rs.stdout.strip().splitlines()[-1])
        print(f"produce floor: recv+pwrite {res['recv_pwrite']:.3f} CPU-s/GB, recv "
              f"{res['recv']:.3f}, recv+memcpy {res['recv_memcpy']:.3f}", flush=True)
        floors.append(res)

    runs = []
    sizes = [int(s) for s in args.sizes.split(",")]
    step = 0
    for rnd in range(args.rounds):
        measure_loopback()
        measure_floor()
        for size in sizes:
            count = max(1, int(args.mb * 1e6 / size))
            order = peers if step % 2 == 0 else list(reversed(peers))
            step += 1
            for name in order:
                peer = KcBroker(bindir, os.path.join(build, "bench-data", f"kc-{size}")) \
                    if name == "kc" else MockCluster(bindir)
                r = measure_peer(peer, bindir, size, count, args.raw, args.raw_passes)
                r["round"] = rnd
                runs.append(r)
                p, c, f = (r.get(ph, {}) for ph in PHASES)
                print(f"round {rnd} {size:>5}B {name:<4}: produce {fmt(p.get('mb_per_s'), '7.1f')}"
                      f" MB/s {fmt(p.get('broker_cpu_s_per_gb'), '.2f')} CPU-s/GB;"
                      f" fetch(rk) {fmt(c.get('mb_per_s'), '7.1f')} MB/s"
                      f" {fmt(c.get('broker_cpu_s_per_gb'), '.2f')} CPU-s/GB;"
                      f" fetch(raw) {fmt(f.get('mb_per_s'), '7.1f')} MB/s"
                      f" {fmt(f.get('broker_cpu_s_per_gb'), '.2f')} CPU-s/GB"
                      + "".join(f"  [{ph} error: {r[ph]['error'][:200]}]" for ph in PHASES
                                if ph in r and "error" in r[ph]), flush=True)

    def lb_summary(results):
        rates = [r for lb in results for r in lb["rounds"]]
        return (statistics.median(rates) * 1000 if rates else None,
                median([lb.get("median_cpu_s_per_gb") for lb in results]))

    lb = {}
    lb["write_mb_s"], lb["write_cpu_s_per_gb"] = lb_summary(loopbacks)
    lb["sendfile_mb_s"], lb["sendfile_cpu_s_per_gb"] = lb_summary(sendfiles)
    lb["pread_mb_s"], lb["pread_cpu_s_per_gb"] = lb_summary(preads)
    lb["mmap_mb_s"], lb["mmap_cpu_s_per_gb"] = lb_summary(mmaps)
    lb["sendfile_file_mb"] = lb_file_bytes / 1e6
    for key in ("recv_pwrite", "recv", "recv_memcpy"):
        lb[f"{key}_cpu_s_per_gb"] = median([f[key] for f in floors])
    loopback_mb_s = lb["write_mb_s"]
    loopback = {"median_gb_per_s": loopback_mb_s / 1000 if loopback_mb_s else None,
                "summary": lb, "runs": loopbacks, "sendfile_runs": sendfiles,
                "pread_runs": preads, "mmap_runs": mmaps, "floor_runs": floors}
    rows = summarize(runs, lb)
    print_table(rows, lb)
    info["machine"]["loadavg_end"] = os.getloadavg()
    out = args.out or os.path.join(build, "bench-results", "broker_bench.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"info": info, "loopback": loopback, "summary": rows, "runs": runs}, f,
                  indent=1)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
