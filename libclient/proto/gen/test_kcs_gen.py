#!/usr/bin/env python3
"""Checks that kcs_gen.py rejects broken descriptions with a file:line message
and accepts a minimal good one. Run by ctest (proto.kcs_gen)."""
import os
import subprocess
import sys
import tempfile

GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kcs_gen.py")

GOOD = """api 99 Demo versions 0-2 flexible 1+

request DemoRequest
  Name string 0+
  Items []DemoItem 0+ nullable 1+
    Id int32 0+ default -1
  Extra int64 1+ tag 0 1+ default 7 ignorable

response DemoResponse
  ErrorCode int16 0+
"""

BAD = {
    "unknown type": ("  Name strng 0+", "unknown type"),
    "tag in a non-flexible version": ("  Extra int64 0+ tag 0 0+", "tagged in a non-flexible"),
    "duplicate tag": ("  A int8 1+ tag 0 1+\n  B int8 1+ tag 0 1+", "duplicate tag"),
    "duplicate field": ("  A int8 0+\n  A int8 0+", "duplicate field"),
    "bad range": ("  A int8 3-1", "empty version range"),
    "nullable int": ("  A int32 0+ nullable 0+", "cannot be nullable"),
    "default out of range": ("  A int8 0+ default 300", "out of range"),
    "bool default": ("  A bool 0+ default yes", "true or false"),
    "unknown struct": ("  A []Missing 0+", "unknown struct"),
    "odd indent": ("   A int8 0+", "indent by two"),
    "unknown attribute": ("  A int8 0+ sometimes", "unexpected"),
}


def run(text):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "demo.kcs")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([sys.executable, GEN, "--out-dir", d, path],
                              capture_output=True, text=True), d


def main():
    failed = 0
    res, _ = run(GOOD)
    if res.returncode != 0:
        print("FAIL good description rejected: " + res.stderr)
        failed += 1
    for name, (line, want) in BAD.items():
        text = "api 99 Demo versions 0-2 flexible 1+\n\nrequest DemoRequest\n%s\n\n" \
               "response DemoResponse\n  ErrorCode int16 0+\n" % line
        res, _ = run(text)
        if res.returncode == 0 or want not in res.stderr or "demo.kcs:" not in res.stderr:
            print("FAIL %s: exit %d, stderr %r" % (name, res.returncode, res.stderr))
            failed += 1
    total = 1 + len(BAD)
    print("%d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
