#!/usr/bin/env bash
# Images per second reading a folder of 70,000 PNGs (MNIST's 60,000 + 10,000 as 28x28 grey
# PNGs, one subfolder per class): `latent-explorer info --data FOLDER` (list, read headers,
# decode in parallel) against the plain single-process Pillow loop a Python user would write.
#
#   scripts/bench-image-folder.sh [FOLDER] [RUNS]
#
# FOLDER (default /tmp/mnist-png-70k) is written on first use from the MNIST IDX files
# (../shared/data/mnist, else assets/mnist). Both readers see the files in the page cache (a
# warm-up pass reads them first): this measures decoding, not the disk. Needs Python with
# Pillow and numpy: PY, else /tmp/torch-venv/bin/python, else a venv made in /tmp/pil-venv.
# Prints the CPU, the load average before and after (the machine may be shared: say so when
# quoting), and each reader's images/s at 1 and 2 threads (best of RUNS, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
folder="${1:-/tmp/mnist-png-70k}"
runs="${2:-3}"
exe="${EXE:-target/release/latent-explorer}"
[ -x "$exe" ] || cargo build --release --locked --quiet

py="${PY:-}"
if [ -z "$py" ]; then
  for candidate in /tmp/torch-venv/bin/python /tmp/pil-venv/bin/python; do
    if [ -x "$candidate" ] && "$candidate" -c 'import PIL, numpy' 2>/dev/null; then
      py="$candidate"
      break
    fi
  done
fi
if [ -z "$py" ]; then
  python3 -m venv /tmp/pil-venv
  /tmp/pil-venv/bin/pip install --quiet pillow numpy
  py=/tmp/pil-venv/bin/python
fi

mnist=../shared/data/mnist
[ -e "$mnist/train-images-idx3-ubyte.gz" ] || mnist=assets/mnist
if [ ! -e "$folder/.complete" ]; then
  echo "writing 70,000 PNGs into $folder ..." >&2
  "$py" - "$mnist" "$folder" <<'PY'
import gzip, os, sys
import numpy as np
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
def idx(name):
    with gzip.open(os.path.join(src, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
for split in ("train", "t10k"):
    images, labels = idx(f"{split}-images-idx3-ubyte.gz"), idx(f"{split}-labels-idx1-ubyte.gz")
    for i, (image, label) in enumerate(zip(images, labels)):
        d = os.path.join(out, str(label))
        os.makedirs(d, exist_ok=True)
        Image.fromarray(image, "L").save(os.path.join(d, f"{split}-{i:05d}.png"))
open(os.path.join(out, ".complete"), "w").close()
PY
fi

# The Pillow loop as a user writes it: class folders sorted, files sorted, one process.
pillow_loop=$(cat <<'PY'
import os, sys, time
import numpy as np
from PIL import Image
root = sys.argv[1]
t0 = time.perf_counter()
classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
images, labels = [], []
for label, c in enumerate(classes):
    for name in sorted(os.listdir(os.path.join(root, c))):
        images.append(np.asarray(Image.open(os.path.join(root, c, name)).convert("L")))
        labels.append(label)
x, y = np.stack(images), np.array(labels)
secs = time.perf_counter() - t0
print(f"{len(x)} {secs:.3f}")
PY
)

field() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'; }
echo "cpu: $(field 'model name'), family $(field 'cpu family') model $(field 'model\s'), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pillow: $("$py" -c 'import PIL; print(PIL.__version__)'), python: $("$py" -c 'import sys; print(sys.version.split()[0])')"
# Warm-up: every file in the page cache for both readers.
find "$folder" -name '*.png' -exec cat {} + > /dev/null

best() { sort -g | tail -1; }
for threads in 1 2; do
  ours=$(for _ in $(seq "$runs"); do
    "$exe" --threads "$threads" info --quiet --data "$folder" \
      | sed -n 's/^load: read \([0-9]*\) images in \([0-9.]*\) s.*/\1 \2/p' \
      | awk '{ printf "%.0f\n", $1 / $2 }'
  done | best)
  echo "latent-explorer, $threads thread(s): $ours images/s (best of $runs)"
done
pillow=$(for _ in $(seq "$runs"); do
  "$py" -c "$pillow_loop" "$folder" | awk '{ printf "%.0f\n", $1 / $2 }'
done | best)
echo "pillow loop, 1 process: $pillow images/s (best of $runs)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
