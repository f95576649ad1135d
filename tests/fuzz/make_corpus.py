#!/usr/bin/env python3
"""Rewrites the fuzz targets' seed corpora (tests/fuzz/corpus/) from the wire
fixtures (tests/fixtures/wire/), plus a few hand-built record sets for what
the captures lack: legacy message sets (magic 0/1, plain and compressed) and
magic 2 batches with each codec and a control batch.

    /usr/bin/python3 tests/fuzz/make_corpus.py

Re-runnable and deterministic; CI does not run it (the seeds are committed).
Files named regress-* (inputs that once found a bug) are left alone.
Seed formats are those of the targets:
    request/   a request frame without its size prefix
    response/  api key (int16) + api version (int16) + the response frame
               without its size prefix
    batch/     a flag byte (bit 0: check CRCs; bit 7: raw codec blob of codec
               bits 4-6) + record data
"""
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WIRE = os.path.join(ROOT, "tests", "fixtures", "wire")
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "capture"))
import split_frames  # noqa: E402  (its record-field readers)

CODEC_GZIP, CODEC_SNAPPY, CODEC_LZ4, CODEC_ZSTD = 1, 2, 3, 4


# ---- encodings (independent of kc's code on purpose) --------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def varint(n):
    z = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vbytes(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers=()):
    body = b"\x00" + varint(ts_delta) + varint(offset_delta) + vbytes(key) + vbytes(value)
    body += varint(len(headers)) + b"".join(vbytes(k) + vbytes(v) for k, v in headers)
    return varint(len(body)) + body


def compress(codec, data):
    """Compressed bytes, or None when this Python lacks the codec's module."""
    try:
        if codec == CODEC_GZIP:
            c = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip wrapper
            return c.compress(data) + c.flush()
        if codec == CODEC_SNAPPY:
            import snappy
            return snappy.compress(data)
        if codec == CODEC_LZ4:
            import lz4.frame
            return lz4.frame.compress(data)
        if codec == CODEC_ZSTD:
            import zstandard
            return zstandard.ZstdCompressor().compress(data)
    except ImportError:
        return None
    raise ValueError(codec)


def batch(records, codec=0, attributes=0, base_offset=0, producer=(-1, -1, -1)):
    """A magic 2 batch of (key, value, headers) records."""
    recs = b"".join(record(i, i, k, v, h) for i, (k, v, h) in enumerate(records))
    if codec:
        recs = compress(codec, recs)
        if recs is None:
            return None
    pid, epoch, seq = producer
    after_crc = struct.pack(">hiqqqhii", attributes | codec, len(records) - 1, 1700000000000,
                            1700000000000 + len(records) - 1, pid, epoch, seq,
                            len(records)) + recs
    crc = crc32c(after_crc)
    rest = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", base_offset, len(rest)) + rest


def legacy_message(magic, key, value, attributes=0, timestamp=1700000000000):
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", timestamp)
    for b in (key, value):
        body += struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b
    return struct.pack(">I", zlib.crc32(body)) + body


def legacy_entry(offset, message):
    return struct.pack(">qi", offset, len(message)) + message


def legacy_set(magic, items, base=0):
    return b"".join(legacy_entry(base + i, legacy_message(magic, k, v))
                    for i, (k, v) in enumerate(items))


def legacy_wrapper(magic, codec, items, last_offset):
    """A compressed wrapper; magic 1 inner offsets are relative (0..n-1)."""
    base = 0 if magic == 1 else last_offset - len(items) + 1
    inner = compress(codec, legacy_set(magic, items, base))
    if inner is None:
        return None
    return legacy_entry(last_offset, legacy_message(magic, None, inner, attributes=codec))


# ---- the corpora ----------------------------------------------------------------

def manifest_rows(client):
    with open(os.path.join(WIRE, client, "MANIFEST.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            yield cols[0], cols[1], int(cols[2]), int(cols[3])


def synthetic_batches():
    items = [(b"k0", b"legacy value 0"), (None, b"legacy value 1"), (b"k2", None)]
    recs = [(b"k0", b"value 0", [(b"h", b"v")]), (None, b"value 1", []), (b"k2", None, [])]
    seeds = {
        "legacy-v0": legacy_set(0, items),
        "legacy-v1": legacy_set(1, items, base=10),
        "legacy-v1-gzip": legacy_wrapper(1, CODEC_GZIP, items, 12),
        "legacy-v0-gzip": legacy_wrapper(0, CODEC_GZIP, items, 12),
        "legacy-v1-snappy": legacy_wrapper(1, CODEC_SNAPPY, items, 12),
        "legacy-v1-lz4": legacy_wrapper(1, CODEC_LZ4, items, 12),
        "v2-gzip": batch(recs, CODEC_GZIP),
        "v2-snappy": batch(recs, CODEC_SNAPPY),
        "v2-zstd": batch(recs, CODEC_ZSTD),
        "v2-idempotent-two": (batch(recs, producer=(7, 0, 0)) or b"") +
        (batch(recs[:1], base_offset=3, producer=(7, 0, 3)) or b""),
        # A transaction commit marker: key = version 0 + type 1, value = version 0 + epoch.
        "v2-control-commit": batch([(struct.pack(">hh", 0, 1), struct.pack(">hi", 0, 5), [])],
                                   attributes=0x30, producer=(7, 0, -1)),
        "v2-mixed-legacy-then-v2": legacy_set(1, items) + (batch(recs, base_offset=3) or b""),
    }
    out = {}
    for name, data in seeds.items():
        if data is None:
            print("make_corpus: skipped %s (codec module missing)" % name, file=sys.stderr)
            continue
        # Bit 1: a control batch passes validation only from the coordinator.
        out[name] = (b"\x03" if "control" in name else b"\x01") + data
    text = b"the same words again and again; " * 20
    for codec, cname in ((CODEC_GZIP, "gzip"), (CODEC_SNAPPY, "snappy"), (CODEC_LZ4, "lz4"),
                         (CODEC_ZSTD, "zstd")):
        blob = compress(codec, text)
        if blob is not None:
            out["blob-" + cname] = bytes([0x80 | codec << 4]) + blob
    return out


def write_dir(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if not old.startswith("regress-"):  # inputs fuzzing found stay
            os.remove(os.path.join(d, old))
    for fname, data in sorted(seeds.items()):
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    print("make_corpus: %s: %d seeds, %d bytes" % (name, len(seeds),
                                                    sum(len(v) for v in seeds.values())))


def main():
    requests, responses, batches = {}, {}, {}
    for client in sorted(os.listdir(WIRE)):
        if not os.path.isfile(os.path.join(WIRE, client, "MANIFEST.tsv")):
            continue
        for fname, kind, key, ver in manifest_rows(client):
            with open(os.path.join(WIRE, client, fname), "rb") as f:
                frame = f.read()
            seed = client + "-" + fname[:-4]
            if kind == "req":
                requests[seed] = frame[4:]
            else:
                responses[seed] = struct.pack(">hh", key, ver) + frame[4:]
            for i, (_topic, records) in enumerate(split_frames.record_sets(kind, key, ver, frame)
                                                  or []):
                if records:
                    batches["%s-%d" % (seed, i)] = b"\x01" + records
    batches.update(synthetic_batches())
    write_dir("request", requests)
    write_dir("response", responses)
    write_dir("batch", batches)


if __name__ == "__main__":
    main()
