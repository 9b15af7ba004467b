#!/usr/bin/env bash
# Takes the README's screenshots of the real window under Xvfb, clicking through it with
# xdotool as a user would. Needs: apt-get install xvfb xdotool imagemagick
#
#   scripts/screenshots.sh [OUT_DIR]     (default: screenshots/)
#
# Coordinates are those of the default 1400x900 layout on a fresh profile.
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
HOME="$profile" LATENT_EXPLORER_QUIET=1 target/release/latent-explorer &
app=$!
trap 'kill $app 2>/dev/null || true; rm -rf "$profile"' EXIT
sleep 4

shot() { sleep "${2:-0.6}"; import -window root -crop 1400x900+0+0 "$out/$1"; echo "wrote $out/$1"; }
click() { xdotool mousemove "$1" "$2"; sleep 0.2; xdotool click 1; sleep 0.3; }

# 1. The map of the bundled latent-2 model, hovering a point.
xdotool mousemove 571 357
shot map.png 1

# 2. Select that sample; drag the first slider; the preview follows.
click 571 357
# A press on the rail moves the handle there; then drag a little further.
xdotool mousemove 1170 368; sleep 0.2; xdotool mousedown 1; sleep 0.2
for x in 1175 1180 1185; do xdotool mousemove "$x" 368; sleep 0.1; done
xdotool mouseup 1
xdotool mousemove 200 880
shot sliders.png

# 3. Interpolation: the selection as anchor A, an orange "1" as anchor B.
click 499 847
click 898 327
click 499 847
xdotool mousemove 200 880
shot interpolation.png 1

# 4. Generation from the prior (the tabs sit higher once the strip is shown).
click 474 774
xdotool mousemove 200 880
shot generate.png 1.5

# 5. Anomalies: the ranked list, and the map coloured by score (the tabs moved up again).
click 554 615
# Scoring all 70,000 samples takes a few seconds on the worker; the tab's layout settles after.
sleep 5
click 656 668
xdotool mousemove 200 880
shot anomalies.png 1.5
click 656 668

# 6. Training in progress: loss curves and the map reorganising as it trains.
click 384 636
click 47 671
xdotool mousemove 200 880
shot training.png 8
click 105 671
sleep 1
