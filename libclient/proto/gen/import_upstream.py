#!/usr/bin/env python3
"""One-off importer: writes kc's protocol descriptions (schema/*.kcs) from
Apache Kafka's JSON message definitions.

The build never runs this; it reads only the committed .kcs files. Use it to
start a new API's description, then review the result by hand. It keeps facts
only (names, types, version ranges, tags, defaults, ignorable) and drops every
"about" text, entityType and mapKey.

    gen/import_upstream.py <dir with *.json> <schema dir> [KEY=LO-HI ...]

Without KEY=LO-HI arguments it imports the set of APIs kc supports (below).
"""
import json
import os
import re
import sys

# API key -> the versions kc's codec handles (the union of what kc-broker serves
# and what the kc client sends; see docs/protocol.md).
KC_APIS = {
    0: (3, 12), 1: (4, 17), 2: (1, 10), 3: (0, 13), 8: (2, 9), 9: (1, 9),
    10: (0, 6), 11: (0, 9), 12: (0, 4), 13: (0, 5), 14: (0, 5), 15: (0, 6),
    16: (0, 5), 17: (0, 1), 18: (0, 4), 19: (2, 7), 20: (1, 6), 21: (0, 2),
    22: (0, 5), 23: (2, 4), 24: (0, 3), 25: (0, 4), 26: (0, 4), 28: (0, 4),
    29: (1, 3), 30: (1, 3), 31: (1, 3), 32: (1, 4), 33: (0, 2), 35: (1, 4),
    36: (0, 2), 37: (0, 3), 42: (0, 2), 43: (0, 2), 44: (0, 1), 45: (0, 0),
    46: (0, 0), 47: (0, 0), 48: (0, 1), 49: (0, 1), 50: (0, 0), 51: (0, 0),
    60: (0, 2), 61: (0, 0), 65: (0, 0), 66: (0, 1), 68: (0, 1), 69: (0, 1),
    71: (0, 0), 72: (0, 0), 75: (0, 0),
}

INF = 0x7FFF


def load_json(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)


def parse_range(s):
    s = s.strip()
    if s == "none":
        return None
    if s.endswith("+"):
        return (int(s[:-1]), INF)
    if "-" in s:
        lo, hi = s.split("-")
        return (int(lo), int(hi))
    return (int(s), int(s))


def fmt_range(r):
    if r is None:
        return "none"
    lo, hi = r
    if hi == INF:
        return "%d+" % lo
    if lo == hi:
        return "%d" % lo
    return "%d-%d" % (lo, hi)


def clip(r, api):
    """The part of range r inside the API's supported range, or None."""
    if r is None:
        return None
    lo, hi = max(r[0], api[0]), min(r[1], api[1])
    return (lo, hi) if lo <= hi else None


def is_struct_type(t):
    base = t[2:] if t.startswith("[]") else t
    return base[:1].isupper()


def fmt_default(f):
    d = str(f["default"])
    t = f["type"]
    if d == "null":
        return "null"
    if t == "bool":
        return d.lower()
    if t in ("string", "bytes"):
        return json.dumps(d)
    return d


class Writer:
    def __init__(self, api):
        self.api = api
        self.lines = []
        self.used = set()

    def fields(self, fields, depth):
        for f in fields:
            vr = clip(parse_range(f["versions"]), self.api)
            if vr is None:
                continue
            parts = [f["name"], f["type"], fmt_range(parse_range(f["versions"]))]
            nr = parse_range(f.get("nullableVersions", "none"))
            if nr is not None and clip(nr, self.api):
                parts += ["nullable", fmt_range(nr)]
            if "tag" in f:
                parts += ["tag", str(f["tag"]), fmt_range(parse_range(f["taggedVersions"]))]
            if "flexibleVersions" in f:
                parts += ["flexible", fmt_range(parse_range(f["flexibleVersions"]))]
            if "default" in f:
                parts += ["default", fmt_default(f)]
            if f.get("ignorable"):
                parts.append("ignorable")
            self.lines.append("  " * depth + " ".join(parts))
            if is_struct_type(f["type"]):
                base = f["type"].lstrip("[]")
                if "fields" in f:
                    self.fields(f["fields"], depth + 1)
                else:
                    self.used.add(base)


def message_text(msg, api):
    w = Writer(api)
    w.lines.append("%s %s" % (msg["type"], msg["name"]))
    w.fields(msg.get("fields", []), 1)
    commons = {c["name"]: c for c in msg.get("commonStructs", [])}
    done = set()
    # Common structs may refer to each other: emit until no new name appears.
    while w.used - done:
        for name in sorted(w.used - done):
            done.add(name)
            w.lines.append("common %s" % name)
            w.fields(commons[name]["fields"], 1)
    return "\n".join(w.lines) + "\n"


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def main(argv):
    src, dst = argv[1], argv[2]
    apis = dict(KC_APIS)
    if len(argv) > 3:
        apis = {}
        for a in argv[3:]:
            k, r = a.split("=")
            lo, hi = r.split("-")
            apis[int(k)] = (int(lo), int(hi))
    by_key = {}
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".json"):
            continue
        m = load_json(os.path.join(src, fn))
        if m.get("type") in ("request", "response") and m["apiKey"] in apis:
            by_key.setdefault(m["apiKey"], {})[m["type"]] = m
    for key, rng in sorted(apis.items()):
        req, resp = by_key[key]["request"], by_key[key]["response"]
        valid = parse_range(req["validVersions"])
        if clip(rng, valid) != rng:
            sys.exit("API %d: wanted %s, upstream has %s" % (key, rng, req["validVersions"]))
        name = req["name"][: -len("Request")]
        flex = parse_range(req.get("flexibleVersions", "none"))
        head = "api %d %s versions %s flexible %s\n" % (key, name, fmt_range(rng), fmt_range(flex))
        text = head + "\n" + message_text(req, rng) + "\n" + message_text(resp, rng)
        with open(os.path.join(dst, snake(name) + ".kcs"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv)
