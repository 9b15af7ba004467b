#!/usr/bin/env bash
# Runs the PyTorch reference (../shared/bench/torch_vae.py) and `latent-explorer bench` back to
# back in one shell session, same thread counts, and keeps every JSON line they print.
#
#   scripts/compare-with-pytorch.sh [EPOCHS] [OUT_DIR]
#
# Needs a PyTorch venv (see ../shared/bench/README.md); set TORCH_PY to its python
# (default /tmp/torch-venv/bin/python). Nothing else should run on the machine meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-3}"
out="${2:-docs/bench-results}"
torch_py="${TORCH_PY:-/tmp/torch-venv/bin/python}"
torch_script="${TORCH_SCRIPT:-../shared/bench/torch_vae.py}"
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log="$out/compare-$stamp.jsonl"

cargo build --release --quiet
exe=target/release/latent-explorer
{
  echo "{\"kind\":\"machine\",\"date\":\"$stamp\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\",\"cores\":$(nproc),\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  for threads in 1 2; do
    for latent in 2 20; do
      "$torch_py" "$torch_script" --data-dir assets/mnist --latent "$latent" --epochs "$epochs" --threads "$threads" \
        | sed 's/^{/{"framework":"pytorch",/; s/"framework": "pytorch", //'
      "$exe" --threads "$threads" bench --data assets/mnist --latent "$latent" --epochs "$epochs"
    done
  done
} | tee "$log"
echo "wrote $log" >&2
