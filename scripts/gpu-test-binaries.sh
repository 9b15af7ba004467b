#!/usr/bin/env bash
# Builds the `cuda`-feature test binaries on a machine WITHOUT a GPU or CUDA install, and packs
# them for a GPU machine that has a driver but no Rust (this project's H200 device check):
#   scripts/gpu-test-binaries.sh            -> .gpu/gpu.tar.xz (+ .gpu/run.sh, which runs them)
# CUDA 13.0 comes from PyPI wheels (13.0, not newer: PTX from a newer nvcc does not load on a
# 13.0 driver such as 580.x). candle links libcuda directly, so a stub with the driver's symbol
# names stands in for it at link time; the real one is found at run time. sm_90 = H100/H200.
# About 25 minutes on 2 cores the first time (candle's kernels), its own target folder.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CUDA_VENV:-/tmp/cuda130}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "nvidia-cuda-nvcc==13.0.88" "nvidia-cuda-crt==13.0.88" \
    "nvidia-cuda-cccl==13.0.85" "nvidia-nvvm==13.0.88" "nvidia-cuda-runtime==13.0.96" \
    "nvidia-cuda-nvrtc==13.0.88" "nvidia-curand==10.4.0.35" "nvidia-cublas==13.0.2.14"
fi
CU=$(echo "$VENV"/lib/python3*/site-packages/nvidia/cu13)
if [ ! -e "$CU/lib/stubs/libcuda.so" ]; then
  mkdir -p "$CU/lib/stubs"
  cudarc=$(ls -d ~/.cargo/registry/src/*/cudarc-0.19.*/ | tail -1)
  grep -ohE "^\s+fn cu[A-Za-z0-9_]+" "$cudarc/src/driver/sys/mod.rs" | sed 's/^\s*fn //' |
    sort -u | awk '{print "void "$1"(void){}"}' > /tmp/libcuda-stub.c
  gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CU/lib/stubs/libcuda.so" /tmp/libcuda-stub.c
  (cd "$CU/lib" && for l in cublas cublasLt cudart nvrtc; do ln -sf lib$l.so.13 lib$l.so; done &&
    ln -sf libcurand.so.10 libcurand.so)
fi
export PATH="$CU/bin:$PATH" CUDA_PATH="$CU" CUDA_ROOT="$CU" CUDA_HOME="$CU"
export CUDARC_CUDA_VERSION=13000 CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export LIBRARY_PATH="$CU/lib:$CU/lib/stubs"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda-tests}
TESTS=(model train conv likelihood anomaly inpaint interop cli conditional sweep)
args=(--lib --bin latent-explorer)
for t in "${TESTS[@]}"; do args+=(--test "$t"); done
cargo test --release --locked --features cuda --no-run "${args[@]}" 2>&1 | tee /tmp/cuda-no-run.log
mkdir -p .gpu /tmp/gpu-bins && rm -f /tmp/gpu-bins/*
sed -nE 's#.*Executable (unittests src/lib.rs|tests/([a-z_]+)\.rs) \((.*)\)#\2 \3#p' /tmp/cuda-no-run.log |
  while read -r name path; do
    if [ -z "$path" ]; then path=$name; name=latent_explorer; fi
    strip -o "/tmp/gpu-bins/$name" "$path"
  done
strip -o /tmp/gpu-bins/latent-explorer "$CARGO_TARGET_DIR/release/latent-explorer"
# One big dictionary: the binaries share candle's kernels, so the pack is ~10x smaller.
(cd /tmp/gpu-bins && tar cf - * | xz --lzma2=preset=6,dict=1GiB -T1 > "$OLDPWD/.gpu/gpu.tar.xz")
cp scripts/gpu-run.sh .gpu/run.sh
# Where the tests look for the repo and the binary (compiled in), for run.sh to recreate there.
pwd > .gpu/manifest-dir
(cd "$CARGO_TARGET_DIR" && pwd) > .gpu/target-dir
ls -la .gpu
