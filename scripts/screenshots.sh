#!/usr/bin/env bash
# Takes the README's screenshots of the real window under Xvfb, clicking through it with
# xdotool as a user would. Needs: apt-get install xvfb xdotool imagemagick
#
#   scripts/screenshots.sh [OUT_DIR]     (default: screenshots/)
#
# Coordinates are those of the default layout on a fresh profile: 1400x900 for the MNIST
# shots, 1280x720 for the Fashion-MNIST ones. The window's panels keep their sizes whatever a
# tab or a message shows, so the coordinates hold from one step to the next.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-screenshots}"
mkdir -p "$out"
display=:137
cargo build --release --quiet
if ! xdpyinfo -display "$display" >/dev/null 2>&1; then
  Xvfb "$display" -screen 0 1400x900x24 >/dev/null 2>&1 &
  sleep 1
fi
export DISPLAY="$display" XDG_RUNTIME_DIR=/tmp
profile=$(mktemp -d)
app=""
trap 'if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; fi; rm -rf "$profile"' EXIT

# Starts the window (fresh settings, recovery files in the temp profile) at W x H.
start() {
  local w=$1 h=$2
  shift 2
  HOME="$profile" LATENT_EXPLORER_RECOVERY_DIR="$profile/recovery" \
    target/release/latent-explorer "$@" >/dev/null 2>&1 &
  app=$!
  sleep 5
  local win
  win=$(xdotool search --name "Latent Explorer" | head -1)
  xdotool windowsize "$win" "$w" "$h"
  xdotool windowmove "$win" 0 0
  sleep 1.5
}
stop() { kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; app=""; rm -rf "${profile:?}"/*; }

shot() { sleep "${2:-0.6}"; import -window root -crop "${3:-1400x900}+0+0" "$out/$1"; echo "wrote $out/$1"; }
click() { xdotool mousemove "$1" "$2"; sleep 0.2; xdotool click 1; sleep 0.3; }
away() { xdotool mousemove 1000 880; }

start 1400 900
# 1. The map of the bundled latent-2 model, hovering a "1".
xdotool mousemove 837 240
shot map.png 1

# 2. Select that sample; drag the first slider; the preview follows.
click 837 240
xdotool mousemove 1158 393; sleep 0.2; xdotool mousedown 1; sleep 0.2
for x in 1165 1172 1180; do xdotool mousemove "$x" 393; sleep 0.1; done
xdotool mouseup 1
away
shot sliders.png

# 3. Interpolation: the selection as anchor A, a "0" as B, a "7" as C.
click 395 695
click 612 306
click 395 695
click 755 490
click 395 695
away
shot interpolation.png 1.5

# 4. Generation from the prior.
click 474 663
away
shot generate.png 1.5

# 5. Anomalies: the ranked list, and the map coloured by score.
click 555 663
# Scoring all 70,000 samples takes a few seconds on the worker (more on a busy machine).
sleep 20
click 656 695
away
shot anomalies.png 1.5
click 656 695
click 386 663

# 6. Training in progress: the Training section moves to the top with its loss curves, and
#    the map reorganises as it trains. (Start moved down with the KL-per-dimension chart:
#    re-measured 2026-12-01.)
click 48 743
away
shot training.png 8
click 104 104
sleep 1
stop

# 7. Fashion-MNIST (long class names) at 1280x720, opened from the command line, then a new
#    model trained on it.
start 1280 720 open assets/fashion-mnist-sample
shot fashion-1280x720.png 1 1280x720
# (Re-measured 2026-12-01: New model, Create new model, New model again to fold it, Dataset
# folded so that Start is in view, Start.)
click 75 536
click 104 697
click 75 536
click 48 63
click 47 523
xdotool mousemove 600 600
shot fashion-training-1280x720.png 4 1280x720
stop
