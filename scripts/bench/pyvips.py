#!/usr/bin/env python3
"""In-process libvips baseline for origin/benches/thumbnails.rs.

Same job as the Rust pipeline: for every JPEG in DIR, decode once (libvips shrink-on-load to
the largest size), then make 600/300/150 px (longest side) thumbnails by cascading from the
600 px result, each encoded as FORMAT at quality 80. Runs on THREADS worker processes, each
with VIPS_CONCURRENCY=1, and prints one JSON line: {"images_per_s": ..., "seconds": ...}.

usage: bench_pyvips.py DIR jpeg|webp THREADS [REPEAT]
"""
import json
import os
import sys
import time
from multiprocessing import Pool

os.environ["VIPS_CONCURRENCY"] = "1"
import pyvips  # noqa: E402

pyvips.cache_set_max(0)

SIZES = (600, 300, 150)


def work(args):
    path, fmt = args
    data = open(path, "rb").read()
    big = pyvips.Image.thumbnail_buffer(data, SIZES[0], height=SIZES[0]).copy_memory()
    total = 0
    for size in SIZES:
        img = big if size == SIZES[0] else big.thumbnail_image(size, height=size)
        if fmt == "webp":
            out = img.write_to_buffer(".webp", Q=80)
        else:
            # The same JPEG as ours: optimised Huffman tables, progressive from 256×256 up.
            interlace = img.width * img.height >= 256 * 256
            out = img.write_to_buffer(
                ".jpg", Q=80, optimize_coding=True, interlace=interlace, strip=True
            )
        total += len(out)
    return total


def main():
    folder, fmt, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    files = sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f.lower().endswith((".jpg", ".jpeg"))
    )
    jobs = [(f, fmt) for f in files] * repeat
    with Pool(threads) as pool:
        pool.map(work, jobs[: threads])  # warm-up: load libvips in every worker
        start = time.perf_counter()
        out = sum(pool.map(work, jobs, chunksize=1))
        secs = time.perf_counter() - start
    print(json.dumps({"images_per_s": len(jobs) / secs, "seconds": secs, "bytes": out}))


if __name__ == "__main__":
    main()
