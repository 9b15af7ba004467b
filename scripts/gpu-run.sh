#!/usr/bin/env bash
# Runs the packed cuda-feature tests (scripts/gpu-test-binaries.sh) on a GPU machine with a
# CUDA 13 driver and cuBLAS/cuRAND somewhere on it (PyTorch's wheels will do), from the repo
# root: `bash .gpu/run.sh`. Prints a summary; the whole output goes to $OUT/gpu-full.txt.
set -u
OUTDIR=${OUT:-/tmp}
exec > >(tee "$OUTDIR/gpu-log.txt") 2>&1
# The tests find the repo and the CLI binary at the paths they were built with.
manifest=$(cat .gpu/manifest-dir) target=$(cat .gpu/target-dir)
mkdir -p "$(dirname "$manifest")" && [ "$manifest" = "$PWD" ] || ln -sfn "$PWD" "$manifest"
mkdir -p /tmp/bins && tar xJf .gpu/gpu.tar.xz -C /tmp/bins || { echo "unpack failed"; exit 1; }
mkdir -p "$target/release" && cp /tmp/bins/latent-explorer "$target/release/"
for lib in libcublas.so.13 libcudart.so.13 libcurand.so.10; do
  dir=$(dirname "$(find /opt /usr/local /usr/lib -name "$lib" 2>/dev/null | head -1)")
  export LD_LIBRARY_PATH="$dir:${LD_LIBRARY_PATH:-}"
done
nvidia-smi -L; nvidia-smi --query-gpu=driver_version,memory.total --format=csv,noheader
lscpu | grep 'Model name'
export LATENT_EXPLORER_DEVICE=cuda RUST_BACKTRACE=1
cd /tmp/bins
./latent-explorer info --model "$manifest/models/mnist-latent16.safetensors" 2>&1 | grep -i device
echo "== MLP, MNIST (60,000), 2 epochs, on the GPU"
timeout 120 ./latent-explorer train --data "$manifest/assets/mnist" --out /tmp/m.safetensors \
  --epochs 2 --latent 20 --quiet
echo "== conv, Fashion-MNIST sample, 1 epoch, on the GPU"
timeout 120 ./latent-explorer train --data "$manifest/assets/fashion-mnist-sample" --arch conv \
  --latent 16 --out /tmp/c.safetensors --epochs 1 --quiet
for t in *; do
  [ "$t" = latent-explorer ] && continue
  echo "===== $t"
  start=$(date +%s)
  timeout "${PER_TEST:-100}" "./$t" --test-threads=4 > /tmp/t.txt 2>&1
  rc=$?
  cat /tmp/t.txt >> "$OUTDIR/gpu-full.txt"
  grep -E -A3 "panicked at" /tmp/t.txt | grep -v "^note:\|^stack\|^   [0-9]" | head -40
  grep -E "test result" /tmp/t.txt
  echo "rc=$rc secs=$(( $(date +%s) - start ))"
done
