"""Runs test_kafkajs.js (kafkajs 2.2.4) against a kc-broker. kafkajs comes
from package.json/package-lock.json: `npm ci` installs it into
tests/interop/node_modules when it is not there yet (the npm registry must be
reachable then); node and npm are the Debian packages nodejs and npm."""
import fcntl
import json
import os
import subprocess
import tempfile

from kcbroker import check, fail, log, require_tool, run, run_tool

HERE = os.path.dirname(os.path.abspath(__file__))


def installed_version():
    try:
        with open(os.path.join(HERE, "node_modules", "kafkajs", "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def ensure_kafkajs(npm):
    # Two builds' test runs may get here at once: one installs, the other waits.
    lock_path = os.path.join(tempfile.gettempdir(), "kc-interop-npm-ci.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version() == "2.2.4":
            return
        log("installing kafkajs with npm ci (tests/interop/node_modules)")
        try:
            p = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
        except subprocess.TimeoutExpired:
            fail("npm ci timed out after 180s (is the npm registry reachable?)")
        if p.returncode != 0:
            fail("npm ci failed (%d):\n%s" % (p.returncode, p.stdout.decode("utf-8", "replace")[-3000:]))
    check(installed_version() == "2.2.4", "npm ci installed kafkajs %s, want 2.2.4" % installed_version())


def main(ctx):
    node = require_tool("node", "nodejs")
    npm = require_tool("npm", "npm")
    ensure_kafkajs(npm)
    b = ctx.broker({"num.partitions": "1", "group.initial.rebalance.delay.ms": "0"})
    os.environ["KAFKAJS_NO_PARTITIONER_WARNING"] = "1"
    p = run_tool([node, os.path.join(HERE, "test_kafkajs.js"), b.bootstrap], 180,
                 what="node test_kafkajs.js")
    print(p.stdout.decode("utf-8", "replace"), end="")
    if p.stderr:
        print(p.stderr.decode("utf-8", "replace")[-3000:], end="")


if __name__ == "__main__":
    run(main)
