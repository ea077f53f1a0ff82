#!/usr/bin/env bash
# The whole conversion, measured against the ffmpeg CLI in the same run (issue #6, bench).
#
#   bench/convert_bench.sh [BUILD_DIR] [SECONDS]      (defaults: build/release, 60)
#
# 1. Makes a SECONDS-long 1920x1080 25 fps H.264 clip with audio from lavfi sources.
# 2. Baseline: the ffmpeg CLI transcodes it to the output size of full side-by-side (3840x1080)
#    with the converter's encoder settings (libx264, crf 20, preset medium, yuv420p, and the
#    converter's x264 hand-off depth, sync-lookahead 24 at this size; audio copied): decode +
#    scale + encode, the floor any converter pays.
# 3. `stereospot convert` with default parameters (builtin depth, full SBS), several segments
#    (the default chunking, one video worker per two cores).
# 4. The same file as one segment (chunking.min_segments=1, target longer than the clip): the
#    pipeline's overhead is the multi-segment time over the single-segment time.
# 5. For reference (no bar): the ffmpeg CLI putting two copies of the clip side by side (hstack)
#    with the same settings. x264's cost depends on the picture: a stretched frame is cheaper to
#    encode than two views, so this shows how much of the gap is the encoder's input alone.
# Prints wall time, frames per second and CPU seconds of each, and the ratios (bars:
# convert/ffmpeg >= 0.75 by wall time, overhead <= 1.15x). Every output is checked to have all
# its frames.
set -euo pipefail
build=${1:-build/release}
seconds=${2:-60}
bin="$build/src/cli/stereospot"
[ -x "$bin" ] || { echo "convert_bench: $bin not built (make bench builds it)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "convert_bench: ffmpeg missing: apt-get install ffmpeg" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

frames=$((seconds * 25))
ffmpeg -v error -f lavfi -i "testsrc2=size=1920x1080:rate=25" -f lavfi -i "sine=frequency=440" \
  -t "$seconds" -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p -c:a aac -b:a 128k \
  -shortest "$work/clip.mp4"

count_frames() {
  ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
    -of default=noprint_wrappers=1:nokey=1 "$1" | head -1 | tr -dc '0-9'
}
check() {
  local got
  got=$(count_frames "$1")
  [ "$got" = "$frames" ] || { echo "convert_bench: $1 has $got frames, expected $frames" >&2; exit 1; }
}

# Runs a command with its stderr in $work/NAME.log, and its wall, user and system seconds in
# $work/NAME.time. CPU seconds are the steadier figure on a shared machine: another tenant slows
# the wall clock of both runs, but less what each one computes.
timed() {
  local name=$1
  shift
  local TIMEFORMAT='%R %U %S'
  if ! { time "$@" 2>"$work/$name.log"; } 2>"$work/$name.time"; then
    echo "convert_bench: $name failed:" >&2
    cat "$work/$name.log" >&2
    exit 1
  fi
}

x264=(-c:v libx264 -crf 20 -preset medium -x264-params sync-lookahead=24 -pix_fmt yuv420p)
timed ffmpeg ffmpeg -v error -y -i "$work/clip.mp4" -vf scale=3840:1080 "${x264[@]}" -c:a copy \
  "$work/ffmpeg.mp4"
timed multi "$bin" convert "$work/clip.mp4" -o "$work/multi.mp4"
timed single "$bin" --set chunking.min_segments=1 --set chunking.target_seconds=86400 \
  --set chunking.max_segment_mb=100000 convert "$work/clip.mp4" -o "$work/single.mp4"
timed hstack ffmpeg -v error -y -i "$work/clip.mp4" -filter_complex "[0:v]split[a][b];[a][b]hstack" \
  "${x264[@]}" -c:a copy "$work/hstack.mp4"
for f in ffmpeg multi single hstack; do check "$work/$f.mp4"; done
segments=$(grep -o 'wrote .* (\([0-9]*\) segments' "$work/multi.log" | grep -o '([0-9]*' | tr -d '(')

cat "$work/ffmpeg.time" "$work/multi.time" "$work/single.time" "$work/hstack.time" |
  awk -v n="$frames" -v s="$segments" -v sec="$seconds" '
  { wall[NR] = $1; cpu[NR] = $2 + $3 }
  END {
    ff = wall[1]; multi = wall[2]; single = wall[3]; hstack = wall[4]
    printf "clip: %d s 1920x1080 25 fps (%d frames), output 3840x1080 full SBS, libx264 crf 20 medium\n", sec, n
    printf "                                      wall      fps     CPU s\n"
    printf "ffmpeg CLI transcode (baseline)   %7.1f s  %6.2f  %7.1f\n", ff, n / ff, cpu[1]
    printf "stereospot convert, %2d segments   %7.1f s  %6.2f  %7.1f\n", s, multi, n / multi, cpu[2]
    printf "stereospot convert, 1 segment     %7.1f s  %6.2f  %7.1f\n", single, n / single, cpu[3]
    printf "ratio convert/ffmpeg (fps)        %7.2f  (bar >= 0.75); by CPU seconds %.2f\n", ff / multi, cpu[1] / cpu[2]
    printf "pipeline overhead multi/single    %7.2fx (bar <= 1.15x)\n", multi / single
    printf "reference: ffmpeg CLI hstack       %7.1f s  %6.2f fps; convert/hstack %.2f\n", hstack, n / hstack, hstack / multi
  }'

