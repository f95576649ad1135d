#!/usr/bin/env python3
"""`kc metadata` against a kc-broker process: text and JSON listings, a
missing topic, a bad -X property, an unreachable broker.

    test_kc_metadata.py KC KC_BROKER
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile


def run(args, timeout=60):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    kc, broker_bin = sys.argv[1], sys.argv[2]
    data = tempfile.mkdtemp(prefix="kc-metadata-it-")
    broker = subprocess.Popen(
        [broker_bin, "--override", "listeners=PLAINTEXT://127.0.0.1:0",
         "--override", "log.dirs=" + data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = broker.stdout.readline()
        assert line.startswith("listening on "), line
        addr = line.split()[-1]

        rc, out, err = run([kc, "metadata", "-b", addr])
        assert rc == 0, err
        assert "Metadata for all topics (from broker " in out, out
        assert " 1 brokers:" in out and "(controller)" in out, out

        rc, out, err = run([kc, "metadata", "-b", addr, "--json"])
        assert rc == 0, err
        md = json.loads(out)
        assert len(md["brokers"]) == 1 and md["brokers"][0]["name"] == addr, md
        assert md["originating_broker"]["id"] == md["brokers"][0]["id"], md

        rc, out, err = run([kc, "metadata", "-b", addr, "-t", "no-such-topic", "-J"])
        assert rc == 0, err
        md = json.loads(out)
        assert md["topics"][0]["error"] == "UNKNOWN_TOPIC_OR_PARTITION", md

        rc, out, err = run([kc, "metadata", "-b", addr, "-X", "no.such.prop=1"])
        assert rc == 2 and "no.such.prop" in err, (rc, err)
        rc, out, err = run([kc, "metadata", "-b", addr, "-X", "socket.timeout.ms=abc"])
        assert rc == 2 and "socket.timeout.ms" in err, (rc, err)

        dead = "127.0.0.1:%d" % closed_port()
        rc, out, err = run([kc, "metadata", "-b", dead, "--timeout", "500"], timeout=30)
        assert rc == 1, (rc, out, err)
        assert "refused" in err and dead in err, err
    finally:
        broker.terminate()
        broker.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
