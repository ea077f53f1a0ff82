#!/usr/bin/env bash
# The whole conversion, measured against the ffmpeg CLI in the same run (issue #6, bench).
#
#   bench/convert_bench.sh [BUILD_DIR] [SECONDS]      (defaults: build/release, 60)
#
# 1. Makes a SECONDS-long 1920x1080 25 fps H.264 clip with audio from lavfi sources.
# 2. Baseline: the ffmpeg CLI transcodes it to the output size of full side-by-side (3840x1080)
#    with the converter's encoder settings (libx264, crf 20, preset medium, yuv420p, and the
#    converter's x264 hand-off depth, sync-lookahead 24 at this size; audio copied): decode +
#    scale + encode, the baseline. It is not the floor of a stereo converter: x264 spends
#    less on one stretched view than on two full ones (step 6 measures by how much).
# 3. `stereospot convert` with default parameters (builtin depth, full SBS) and the default
#    chunking of `convert`: one segment per video worker (one video worker per two cores and
#    4 GB), so one segment on a 2-core machine. This is the run the fps bar is about.
# 4. Pipeline overhead: the same file in 4 segments (chunking.min_segments=4, how `serve` cuts a
#    60 s clip) against one segment (step 3's run when it was one segment, else a run with
#    chunking.min_segments=1).
# 5. For reference (no bar): the ffmpeg CLI putting two copies of the clip side by side (hstack)
#    with the same settings. x264's cost depends on the picture: a stretched frame is cheaper to
#    encode than two views, so this shows how much of the gap is the encoder's input alone.
# 6. The encoder's floor for this content (no bar): x264 with the same settings on the
#    converter's own frames (rendered losslessly with --crf 0, fed raw through a pipe), against
#    x264 on the stretched frames of step 2 fed the same way, plus decoding the clip. By CPU
#    seconds only: the producer of the pipe runs beside the encoder. It shows how much of the
#    gap is the encoder's work on two views rather than the converter's own.
# Prints wall time, frames per second and CPU seconds of each, and the ratios (bars:
# convert/ffmpeg >= 0.75 by wall time, overhead 4 segments / 1 segment <= 1.15x). Every output
# is checked to have all its frames.
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
segments_of() { grep -o 'wrote .* (\([0-9]*\) segment' "$work/$1.log" | grep -o '([0-9]*' | tr -d '('; }
timed convert "$bin" convert "$work/clip.mp4" -o "$work/convert.mp4"
segments=$(segments_of convert)
timed multi "$bin" --set chunking.min_segments=4 convert "$work/clip.mp4" -o "$work/multi.mp4"
multi_segments=$(segments_of multi)  # 4 unless the clip is too short for 2 s segments
if [ "$segments" = 1 ]; then
  cp "$work/convert.time" "$work/single.time"
  cp "$work/convert.mp4" "$work/single.mp4"
else
  timed single "$bin" --set chunking.min_segments=1 --set chunking.target_seconds=86400 \
    --set chunking.max_segment_mb=100000 convert "$work/clip.mp4" -o "$work/single.mp4"
fi
timed hstack ffmpeg -v error -y -i "$work/clip.mp4" -filter_complex "[0:v]split[a][b];[a][b]hstack" \
  "${x264[@]}" -c:a copy "$work/hstack.mp4"
# Step 6. Only the consumer of each pipe is timed.
encode_raw() {
  local name=$1
  local TIMEFORMAT='%R %U %S'
  { time ffmpeg -v error -y -f rawvideo -pix_fmt yuv420p -s 3840x1080 -r 25 -i - "${x264[@]}" \
    "$work/$name.mp4" 2>"$work/$name.log"; } 2>"$work/$name.time"
}
"$bin" convert "$work/clip.mp4" -o "$work/lossless.mp4" --crf 0 2>"$work/lossless.log" ||
  { echo "convert_bench: lossless conversion failed:" >&2; cat "$work/lossless.log" >&2; exit 1; }
ffmpeg -v error -i "$work/lossless.mp4" -f rawvideo -pix_fmt yuv420p - | encode_raw x264_views
ffmpeg -v error -i "$work/clip.mp4" -vf scale=3840:1080 -f rawvideo -pix_fmt yuv420p - |
  encode_raw x264_stretched
timed decode ffmpeg -v error -i "$work/clip.mp4" -map 0:v -f null -
for f in ffmpeg convert multi single hstack x264_views x264_stretched; do check "$work/$f.mp4"; done

cat "$work/ffmpeg.time" "$work/convert.time" "$work/single.time" "$work/hstack.time" \
  "$work/x264_views.time" "$work/x264_stretched.time" "$work/decode.time" "$work/multi.time" |
  awk -v n="$frames" -v s="$segments" -v m="$multi_segments" -v sec="$seconds" '
  { wall[NR] = $1; cpu[NR] = $2 + $3 }
  END {
    ff = wall[1]; conv = wall[2]; single = wall[3]; hstack = wall[4]; multi = wall[8]
    printf "clip: %d s 1920x1080 25 fps (%d frames), output 3840x1080 full SBS, libx264 crf 20 medium\n", sec, n
    printf "                                      wall      fps     CPU s\n"
    printf "ffmpeg CLI transcode (baseline)   %7.1f s  %6.2f  %7.1f\n", ff, n / ff, cpu[1]
    printf "stereospot convert (%d segment%s)   %7.1f s  %6.2f  %7.1f\n", s, s == 1 ? " " : "s", conv, n / conv, cpu[2]
    printf "stereospot convert, %d segments    %7.1f s  %6.2f  %7.1f\n", m, multi, n / multi, cpu[8]
    printf "ratio convert/ffmpeg (fps)        %7.2f  (bar >= 0.75); by CPU seconds %.2f\n", ff / conv, cpu[1] / cpu[2]
    printf "pipeline overhead %d segments/1    %7.2fx (bar <= 1.15x); by CPU seconds %.2fx\n", m, multi / single, cpu[8] / cpu[3]
    printf "reference: ffmpeg CLI hstack       %7.1f s  %6.2f fps; convert/hstack %.2f\n", hstack, n / hstack, hstack / conv
    views = cpu[5]; stretched = cpu[6]; decode = cpu[7]
    printf "x264 alone, CPU s: on the converter'"'"'s frames %.1f, on the stretched frames %.1f (%.2fx)\n", views, stretched, views / stretched
    printf "floor for this content (decode %.1f + x264 on its frames), CPU s %.1f; by CPU convert/floor %.2f\n", decode, decode + views, (decode + views) / cpu[2]
  }'

