"""C liblz4's compression speed on the bytes the hot-path bench compresses (docs/benchmarks.md).

The batch comes from the criterion bench:
    KREPLICATE_DUMP_JSON_BATCH=/tmp/json_batch.bin \
        cargo bench -p kreplicate-benches --bench hot_path -- hot_path_json/lz4_block_compress
then (python `lz4` binds liblz4; bench-only, never part of kreplicate):
    python3 -m venv /tmp/lz4venv && /tmp/lz4venv/bin/pip install lz4
    /tmp/lz4venv/bin/python benches/peer/lz4_c_speed.py /tmp/json_batch.bin

Prints ms per batch and MiB/s for one block over the whole batch and for 64 KiB blocks (what
Kafka's LZ4 frames hold), compression and decompression, default acceleration.
"""

import sys
import time

import lz4
import lz4.block


def timed(fn, seconds):
    for _ in range(20):
        fn()
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        runs += 1
    return (time.perf_counter() - start) / runs


def main(path):
    data = open(path, "rb").read()
    print(f"liblz4 {lz4.library_version_string()}, {len(data)} bytes")
    for label, size in (("one block", len(data)), ("64 KiB blocks", 65536)):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        compressed = [lz4.block.compress(c, store_size=False) for c in chunks]
        ratio = len(data) / sum(map(len, compressed))
        c = timed(lambda: [lz4.block.compress(x, store_size=False) for x in chunks], 3)
        d = timed(
            lambda: [
                lz4.block.decompress(x, uncompressed_size=len(chunks[i]))
                for i, x in enumerate(compressed)
            ],
            2,
        )
        mib = len(data) / 2**20
        print(
            f"{label}: compress {c * 1e3:.3f} ms ({mib / c:.0f} MiB/s), "
            f"decompress {d * 1e3:.3f} ms ({mib / d:.0f} MiB/s), ratio {ratio:.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1])
