#!/usr/bin/env bash
# Runs the PyTorch references (../shared/bench/torch_vae.py, torch_conv_vae.py) and
# `latent-explorer bench` back to back in one shell session, same thread counts, same data,
# and keeps every JSON line they print; then prints the tables (scripts/bench-table.py).
#
#   scripts/compare-with-pytorch.sh [EPOCHS] [OUT_DIR]
#
# Cases (CASES, space-separated, default all): mlp-mnist, mlp-fashion (MLP, latent 2 and 20)
# and conv-fashion (the conv VAE, latent 16; CONV_LIMIT=N trains on the first N images only,
# default all 60,000), each at 1 and 2 threads (THREADS="1 2").
# Needs a PyTorch venv (see ../shared/bench/README.md); set TORCH_PY to its python
# (default /tmp/torch-venv/bin/python). Nothing else should run on the machine meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-3}"
out="${2:-docs/bench-results}"
torch_py="${TORCH_PY:-/tmp/torch-venv/bin/python}"
bench_dir="${BENCH_DIR:-../shared/bench}"
fashion="${FASHION_DIR:-../shared/data/fashion-mnist}"
cases="${CASES:-mlp-mnist mlp-fashion conv-fashion}"
threads_list="${THREADS:-1 2}"
conv_limit="${CONV_LIMIT:-0}"
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log="$out/compare-$stamp.jsonl"

cargo build --release --locked --quiet
exe=target/release/latent-explorer
# Both sides' lines carry the case, so the table can pair them.
tag() { sed "s/^{/{\"case\":\"$1\",/"; }
{
  echo "{\"kind\":\"machine\",\"date\":\"$stamp\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\",\"cpu_family_model\":\"$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')/$(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')\",\"cores\":$(nproc),\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  for threads in $threads_list; do
    for case in $cases; do
      case "$case" in
        mlp-mnist | mlp-fashion)
          data=assets/mnist
          [ "$case" = mlp-fashion ] && data="$fashion"
          for latent in 2 20; do
            "$torch_py" "$bench_dir/torch_vae.py" --data-dir "$data" --latent "$latent" --epochs "$epochs" --threads "$threads" \
              | sed 's/^{/{"framework":"pytorch",/; s/"framework": "pytorch", //' | tag "$case"
            "$exe" --threads "$threads" bench --data "$data" --latent "$latent" --epochs "$epochs" | tag "$case"
          done
          ;;
        conv-fashion)
          "$torch_py" "$bench_dir/torch_conv_vae.py" --data-dir "$fashion" --latent 16 --epochs "$epochs" --threads "$threads" --limit "$conv_limit" \
            | sed 's/^{/{"framework":"pytorch",/; s/"framework": "pytorch", //' | tag "$case"
          "$exe" --threads "$threads" bench --arch conv --data "$fashion" --latent 16 --epochs "$epochs" --limit "$conv_limit" --decode-calls 300 | tag "$case"
          ;;
        *) echo "unknown case $case" >&2; exit 2 ;;
      esac
    done
  done
} | tee "$log"
echo "wrote $log" >&2
python3 scripts/bench-table.py "$log"
