#!/usr/bin/env python3
"""Expected values for tests/unit/test_proto_hash.c, computed independently of kc's C code.

murmur2 is written here from the description in the Kafka protocol notes (Java's
Utils.murmur2); if Debian's python3-kafka is installed, every value is also checked
against kafka.partitioner.default.murmur2 (kafka-python's port of the Java code).
CRC-32 comes from Python's zlib.crc32; FNV-1a from its definition.

Run: /usr/bin/python3 tests/unit/vectors/partition_vectors.py
"""
import zlib

M = 0x5BD1E995
MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Java-compatible murmur2 as an unsigned 32-bit value."""
    length = len(data)
    h = (0x9747B28C ^ length) & MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * M) & MASK
        k ^= k >> 24
        k = (k * M) & MASK
        h = (h * M) & MASK
        h ^= k
    rest = length % 4
    if rest >= 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    h ^= h >> 15
    return h


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & MASK
    return h


def as_int32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def main() -> None:
    try:
        from kafka.partitioner.default import murmur2 as ref
    except ImportError:
        ref = None
    samples = [b"21", b"foobar", b"abc", b"", b"kafka", b"\xff", b"\x80\x81\xfe\xff\x90"] + [b"key%d" % i for i in range(10)]
    for s in samples:
        h = murmur2(s)
        if ref is not None:
            assert h == ref(bytearray(s)) & MASK, s  # kafka-python returns it unsigned
        print("murmur2 %-8r 0x%08x %d" % (s, h, as_int32(h)))
    print("crc32 '123456789' 0x%08x" % zlib.crc32(b"123456789"))
    for s in [b"", b"a", b"foobar"]:
        print("fnv1a %-8r 0x%08x" % (s, fnv1a(s)))
    print("key    java(murmur2)  librdkafka(crc32)  fnv1a   (6 partitions)")
    for i in range(10):
        k = b"key%d" % i
        print("%-6s %d %d %d" % (k.decode(), (murmur2(k) & 0x7FFFFFFF) % 6,
                                 zlib.crc32(k) % 6, fnv1a(k) % 6))
    print("checked against kafka-python" if ref else "kafka-python not installed: unchecked")


if __name__ == "__main__":
    main()
