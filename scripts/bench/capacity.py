#!/usr/bin/env python3
"""Capacity plan: `python3 scripts/bench/capacity.py [--products N] [--edge-rps R ...]`.

Turns per-instance figures into a fleet for a catalog size and an edge request rate. Every
input says where it comes from: `measured` (a row of docs/benchmarks.md, on this 2-core
machine), `derived` (arithmetic on measured figures) or `assumed` (a stated guess to replace
with a measurement). The arithmetic is the whole model; it prints the table docs/capacity.md
quotes.
"""
import argparse
import math

# (value, provenance)
PER_INSTANCE = {
    # docs/benchmarks.md "Cached search over HTTP", 2026-11-28 (4c4dc77): cached 23 KB search
    # responses over loopback HTTP, 2 cores.
    "cached_get_rps": (56_420, "measured"),
    # docs/benchmarks.md "Load test", 2026-11-28 (9654201): the shopper mix at a 96.9 % origin
    # hit rate, cold thumbnails and photo searches included.
    "mix_rps": (5_536, "measured"),
    # docs/benchmarks.md "Thumbnails", release 2026-11-28 (70a599b): 37.9 source photos/s on
    # 2 threads, three sizes each.
    "thumbnails_per_s": (37.9 * 3, "measured"),
    # Photo search with the default model: the blended embedder (decode, EfficientNet-Lite0,
    # descriptor) p50 32.7 ms on one thread (docs/benchmarks.md "Neural embedder",
    # 2026-12-02) + k-NN HNSW p95 1.08 ms at 100,000 products ("Visual search"); one search per
    # core. With VISUAL_MODEL=descriptor it is 2 / (3.95 ms + 1.08 ms) ≈ 398/s.
    "photo_searches_per_s": (2 / (32.7e-3 + 1.08e-3), "derived"),
    # Uncached text search: scripts/bench/capacity-inputs.sh, 2026-12-03, 100,000 products,
    # CACHE_ENABLED=false, 40 queries of 20 results with facets, wrk on the same 2 cores.
    "uncached_search_rps": (956, "measured"),
    # Memory that grows with the catalog, per product: the text index and its stored JSON
    # (capacity-inputs.sh: 60 MiB of RSS per 100,000 products, 624 B/product, measured) plus
    # the visual vectors: descriptor (288 f32) and neural (1280 f32) with HNSW links, ~7 KB
    # (derived from the vector sizes; the quantised index of the photo-search issue shrinks it).
    "memory_bytes_per_product": (624 + 7_000, "derived"),
    # Fixed memory per instance: L1 cache budget 128 MiB + encoded variants 32 MiB + runtime.
    "memory_fixed_bytes": (400 * 2**20, "measured"),  # soak: 469-510 MiB peak at 300 products
}

CATALOG = {
    # capacity-inputs.sh: 408 B/product of rows and indexes (measured) + the descriptor row
    # with both vectors as float arrays (~6.3 KB, derived from their sizes).
    "postgres_bytes_per_product": (408 + 6_300, "derived"),
    "images_per_product": (1.5, "assumed"),
    "original_bytes": (1.2 * 2**20, "assumed"),  # a product photo as uploaded
    "redis_bytes_per_cached_entry": (12_000, "assumed"),  # a compressed JSON page + key + tags
    "cached_entries_per_product": (1.2, "assumed"),  # product page + share of search pages
    "hot_share": (0.10, "assumed"),  # share of the catalog's pages in Redis at once (allkeys-lru)
}

# What reaches the origin, per edge request, by route (the load harness's default mix).
MIX = {"product": 0.25, "list": 0.10, "search": 0.35, "thumbnail": 0.20,
       "similar": 0.05, "image_search": 0.04, "batch": 0.01}


def plan(products: int, edge_rps: float, edge_hit: float, origin_hit: float, headroom: float):
    v = {k: x for k, (x, _) in PER_INSTANCE.items()}
    origin_rps = edge_rps * (1 - edge_hit)
    # Per origin request: a cached answer, or work of its kind.
    cached = origin_rps * origin_hit
    misses = origin_rps * (1 - origin_hit)
    # CPU-seconds per second (in "instance units") for each kind of work.
    load = cached / v["cached_get_rps"]
    thumb = misses * MIX["thumbnail"] / v["thumbnails_per_s"]
    # Photo searches are POSTs: neither the edge nor the origin caches them.
    photo = edge_rps * MIX["image_search"] / v["photo_searches_per_s"]
    text = misses * (MIX["search"] + MIX["list"] + MIX["product"] + MIX["similar"]) / v["uncached_search_rps"]
    instances = max(2, math.ceil((load + thumb + photo + text) / headroom))
    memory = v["memory_fixed_bytes"] + products * v["memory_bytes_per_product"]
    c = {k: x for k, (x, _) in CATALOG.items()}
    return {
        "origin req/s": origin_rps,
        "instances": instances,
        "memory per instance (GiB)": memory / 2**30,
        "Redis memory (GiB)": products * c["hot_share"] * c["cached_entries_per_product"]
        * c["redis_bytes_per_cached_entry"] / 2**30,
        "Postgres size (GiB)": products * c["postgres_bytes_per_product"] / 2**30,
        "client connections": instances * 20,
        "objects": products * c["images_per_product"],
        "object bytes (TiB)": products * c["images_per_product"] * c["original_bytes"] / 2**40,
        "work": (load, thumb, photo, text),
    }


def busiest(work) -> str:
    names = ("cached", "thumbnails", "photo search", "uncached reads")
    total = sum(work) or 1.0
    return ", ".join(f"{n} {w / total:.0%}" for n, w in zip(names, work))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, default=10_000_000)
    ap.add_argument("--edge-rps", type=float, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--edge-hit", type=float, nargs="+", default=[0.70, 0.90, 0.97])
    ap.add_argument("--origin-hit", type=float, default=0.95)
    ap.add_argument("--headroom", type=float, default=0.6, help="busy share an instance may reach")
    a = ap.parse_args()
    print("inputs (per 2-core instance):")
    for k, (x, how) in {**PER_INSTANCE, **CATALOG}.items():
        print(f"  {k:32} {x:>14,.1f}  {how}")
    print(f"\n{a.products:,} products, origin hit rate {a.origin_hit:.0%}, instances busy at most {a.headroom:.0%}\n")
    print(f"{'edge req/s':>10} {'edge hit':>8} {'origin req/s':>12} {'instances':>9} {'mem/inst GiB':>12} "
          f"{'Redis GiB':>9} {'PG GiB':>7} {'objects':>12} {'TiB':>6} {'PgBouncer clients':>17}  busiest work")
    for rps in a.edge_rps:
        for hit in a.edge_hit:
            p = plan(a.products, rps, hit, a.origin_hit, a.headroom)
            print(f"{rps:>10,.0f} {hit:>8.0%} {p['origin req/s']:>12,.0f} {p['instances']:>9} "
                  f"{p['memory per instance (GiB)']:>12.1f} {p['Redis memory (GiB)']:>9.1f} "
                  f"{p['Postgres size (GiB)']:>7.1f} {p['objects']:>12,.0f} {p['object bytes (TiB)']:>6.1f} "
                  f"{p['client connections']:>17}  {busiest(p['work'])}")


if __name__ == "__main__":
    main()
