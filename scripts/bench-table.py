#!/usr/bin/env python3
"""Turns a compare-*.jsonl written by compare-with-pytorch.sh into markdown tables, one set per
case (mlp-mnist, mlp-fashion, conv-fashion). Lines without a case (older runs) are MNIST MLP."""
import json
import sys
from collections import defaultdict

TITLES = {
    "mlp-mnist": "MLP 784-400-L-400-784, MNIST 60k",
    "mlp-fashion": "MLP 784-400-L-400-784, Fashion-MNIST 60k",
    "conv-fashion": "Conv VAE 32-64-64 channels, latent 16, Fashion-MNIST",
}


def main(path):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    machine = next((r for r in rows if r.get("kind") == "machine"), {})
    # Thread count and latent of lines that lack them come from the config line before them.
    threads, latent, n_train = None, None, {}
    epochs = defaultdict(dict)   # (case, threads, latent, epoch) -> {framework: row}
    encode = defaultdict(dict)   # (case, threads, latent, n) -> {framework: seconds}
    decode = defaultdict(dict)   # (case, threads, latent) -> {framework: row}
    for r in rows:
        fw = r.get("framework")
        case = r.get("case", "mlp-mnist")
        if r.get("kind") == "config":
            threads = r.get("threads")
            latent = r.get("latent", latent)
            if "n_train" in r:
                n_train[case] = r["n_train"]
        t = r.get("threads", threads)
        lat = r.get("latent", latent)
        if r.get("kind") == "epoch":
            epochs[(case, t, lat, r["epoch"])][fw] = r
        elif r.get("kind") == "encode":
            secs = r.get("full_batch_median_s", r.get("median_s", r.get("seconds")))
            encode[(case, t, lat, r["n"])][fw] = secs
        elif r.get("kind") == "decode":
            decode[(case, t, lat)][fw] = r
    print(f"Measured {machine.get('date', '?')} on {machine.get('cpu', '?')} "
          f"(family/model {machine.get('cpu_family_model', '?')}), {machine.get('cores', '?')} cores, "
          f"load average at start {machine.get('loadavg', '?')}.\n")
    for case in [c for c in TITLES if any(k[0] == c for k in epochs)]:
        size = f" ({n_train[case]:,} training images)" if case in n_train else ""
        print(f"### {TITLES[case]}{size}: training, batch 128, Adam 1e-3\n")
        print("| threads | latent | epoch | PyTorch samples/s | ours samples/s | ratio | PyTorch held-out loss | ours held-out loss | gap | load (1 min) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for key in sorted(k for k in epochs if k[0] == case):
            e = epochs[key]
            if "pytorch" not in e or "candle" not in e:
                continue
            p, c = e["pytorch"], e["candle"]
            ratio = c["samples_per_sec"] / p["samples_per_sec"]
            gap = (c["test_loss_per_sample"] - p["test_loss_per_sample"]) / p["test_loss_per_sample"] * 100
            print(f"| {key[1]} | {key[2]} | {key[3]} | {p['samples_per_sec']:,.0f} | {c['samples_per_sec']:,.0f} | "
                  f"{ratio:.2f}x | {p['test_loss_per_sample']:.2f} | {c['test_loss_per_sample']:.2f} | {gap:+.2f}% | {c.get('loadavg_1m')} |")
        print(f"\n### {TITLES[case]}: inference\n")
        print("| threads | latent | decode 1 sample p50 PyTorch | ours p50 / p90 | encode 10k PyTorch | ours 10k | ours 70k |")
        print("|---|---|---|---|---|---|---|")
        for key in sorted(k for k in decode if k[0] == case):
            d = decode[key]
            if "pytorch" not in d or "candle" not in d:
                continue
            e10 = encode.get(key + (10000,), {})
            e70 = encode.get(key + (70000,), {})
            ms = lambda v: f"{v * 1e3:.1f} ms" if v is not None else "-"
            print(f"| {key[1]} | {key[2]} | {d['pytorch']['median_us']:.1f} µs | {d['candle']['median_us']:.1f} / {d['candle']['p90_us']:.1f} µs | "
                  f"{ms(e10.get('pytorch'))} | {ms(e10.get('candle'))} | {ms(e70.get('candle'))} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
