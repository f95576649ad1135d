"""kcat -L against kc-broker: the broker list, auto-created topics and their
partitions, as JSON (-J) and as kcat's text listing."""
import json

from kcbroker import check, log, raw_metadata_ok, require_tool, run, run_tool


def main(ctx):
    kcat = require_tool("kcat", "kcat")
    b = ctx.broker({"num.partitions": "3"})
    # Two topics created by asking for them: one by kcat, one by a raw Metadata v1.
    run_tool([kcat, "-b", b.bootstrap, "-L", "-t", "alpha", "-m", "10"], 30, what="kcat -L -t alpha")
    topics, _ = raw_metadata_ok(b.bootstrap, ["beta"])
    check(topics.get("beta") == (0, [0, 1, 2]), "raw Metadata created beta: %r" % topics)

    p = run_tool([kcat, "-b", b.bootstrap, "-L", "-J", "-m", "10"], 30, what="kcat -L -J")
    md = json.loads(p.stdout)
    log("kcat -L -J: %s" % json.dumps(md))
    brokers = [(x["id"], x["name"]) for x in md["brokers"]]
    check(brokers == [(0, b.bootstrap)], "brokers: %r" % brokers)
    check(md.get("controllerid") == 0, "controller: %r" % md.get("controllerid"))
    got = {t["topic"]: sorted(p["partition"] for p in t["partitions"]) for t in md["topics"]}
    check(got == {"alpha": [0, 1, 2], "beta": [0, 1, 2]}, "topics: %r" % got)
    for t in md["topics"]:
        for part in t["partitions"]:
            check(part["leader"] == 0 and [r["id"] for r in part["replicas"]] == [0]
                  and [r["id"] for r in part["isrs"]] == [0], "partition %r" % part)

    text = run_tool([kcat, "-b", b.bootstrap, "-L", "-m", "10"], 30, what="kcat -L").stdout.decode()
    check("1 brokers:" in text and "broker 0 at %s" % b.bootstrap in text, "kcat -L:\n" + text)
    check('topic "alpha" with 3 partitions' in text and 'topic "beta" with 3 partitions' in text,
          "kcat -L:\n" + text)
    # A topic list that names only an unknown topic, with auto-creation off,
    # comes back as unknown, not as a crash.
    b.overrides["auto.create.topics.enable"] = "false"
    b.restart()
    topics, _ = raw_metadata_ok(b.bootstrap, ["gamma"])
    check(topics["gamma"][0] == 3, "gamma without auto-creation: %r" % (topics,))
    topics, _ = raw_metadata_ok(b.bootstrap)
    check(sorted(topics) == ["alpha", "beta"], "topics after restart: %r" % topics)


if __name__ == "__main__":
    run(main)
