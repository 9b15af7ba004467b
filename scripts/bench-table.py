#!/usr/bin/env python3
"""Turns a compare-*.jsonl written by compare-with-pytorch.sh into markdown tables."""
import json
import sys
from collections import defaultdict


def main(path):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    machine = next((r for r in rows if r.get("kind") == "machine"), {})
    # Thread count of PyTorch lines comes from the config line that precedes them.
    threads = None
    epochs = defaultdict(dict)   # (threads, latent, epoch) -> {framework: row}
    encode = defaultdict(dict)   # (threads, latent, n) -> {framework: seconds}
    decode = defaultdict(dict)   # (threads, latent) -> {framework: row}
    memory = {}
    for r in rows:
        fw = r.get("framework")
        if r.get("kind") == "config":
            threads = r.get("threads")
        t = r.get("threads", threads)
        if r.get("kind") == "epoch":
            epochs[(t, r["latent"], r["epoch"])][fw] = r
        elif r.get("kind") == "encode":
            secs = r.get("full_batch_median_s", r.get("median_s"))
            encode[(t, r["latent"], r["n"])][fw] = secs
        elif r.get("kind") == "decode":
            decode[(t, r["latent"])][fw] = r
        elif r.get("kind") == "memory":
            memory[t] = r.get("peak_rss_mib")
    print(f"Measured {machine.get('date', '?')} on {machine.get('cpu', '?')}, "
          f"{machine.get('cores', '?')} cores, load average at start {machine.get('loadavg', '?')}.\n")
    print("### Training (MNIST 60k, batch 128, Adam 1e-3)\n")
    print("| threads | latent | epoch | PyTorch samples/s | ours samples/s | ratio | PyTorch held-out loss | ours held-out loss | gap | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(epochs):
        e = epochs[key]
        if "pytorch" not in e or "candle" not in e:
            continue
        p, c = e["pytorch"], e["candle"]
        ratio = c["samples_per_sec"] / p["samples_per_sec"]
        gap = (c["test_loss_per_sample"] - p["test_loss_per_sample"]) / p["test_loss_per_sample"] * 100
        print(f"| {key[0]} | {key[1]} | {key[2]} | {p['samples_per_sec']:,.0f} | {c['samples_per_sec']:,.0f} | "
              f"{ratio:.2f}x | {p['test_loss_per_sample']:.2f} | {c['test_loss_per_sample']:.2f} | {gap:+.2f}% | {c.get('loadavg_1m')} |")
    print("\n### Inference\n")
    print("| threads | latent | decode 1 sample p50 PyTorch | ours p50 / p90 | encode 10k PyTorch | ours 10k | ours 70k |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(decode):
        d = decode[key]
        if "pytorch" not in d or "candle" not in d:
            continue
        e10 = encode.get((key[0], key[1], 10000), {})
        e70 = encode.get((key[0], key[1], 70000), {})
        print(f"| {key[0]} | {key[1]} | {d['pytorch']['median_us']:.1f} µs | {d['candle']['median_us']:.1f} / {d['candle']['p90_us']:.1f} µs | "
              f"{e10.get('pytorch', float('nan')) * 1e3:.1f} ms | {e10.get('candle', float('nan')) * 1e3:.1f} ms | "
              f"{e70.get('candle', float('nan')) * 1e3:.1f} ms |")
    if memory:
        print("\nPeak resident memory of `latent-explorer bench` (70k images loaded, one model trained and benchmarked): " +
              ", ".join(f"{m:.0f} MiB at {t} thread(s)" for t, m in sorted(memory.items()) if m) + ".")


if __name__ == "__main__":
    main(sys.argv[1])
