#!/usr/bin/env bash
# Installs every Debian 12 package StereoSpot needs to build, run and test.
# Idempotent: packages already present are skipped without touching apt at all, so a second
# run costs a few dpkg queries. Works as root or through sudo.
set -euo pipefail

# Build toolchain.
BUILD_PKGS=(build-essential cmake ninja-build ccache pkg-config clang-format)
# Libraries the product links against (DESIGN.md section 2).
LIB_PKGS=(
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev libopencv-video-dev
  libopencv-imgcodecs-dev
  libsqlite3-dev libpq-dev libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libtomlplusplus-dev libpugixml-dev
  # OpenCV's DNN sends matrix products through the system BLAS; the reference BLAS is ~3x
  # slower on ViT attention (DESIGN.md section 6), so install the threaded OpenBLAS.
  libopenblas0-pthread
)
# Tests and benchmarks: ffmpeg/ffprobe are oracles and baselines only, never in the product.
TEST_PKGS=(libgtest-dev libgmock-dev libbenchmark-dev ffmpeg sqlite3 postgresql-15)
# The S3 adapter's tests run s3rver (npm, pinned in tests/s3/package-lock.json) on Node.
TEST_PKGS+=(nodejs)
# The web UI's browser tests drive Debian's headless chromium with playwright-core (npm, pinned in
# tests/browser/package-lock.json); bench/http_bench.sh loads the API with wrk. The curl CLI
# makes the browser test's bucket (tests/browser/direct.sh, with its own SigV4 signing) and
# drives bench/http_bench.sh.
TEST_PKGS+=(chromium wrk curl)
# Depth network export (tools/export_depth_onnx.py) and the onnx backend's tests, which export
# networks with random weights and compare with PyTorch. Debian's interpreter (/usr/bin/python3)
# is the one that sees these packages.
ONNX_EXPORT_PKGS=(python3-torch python3-numpy python3-onnx)

ALL_PKGS=("${BUILD_PKGS[@]}" "${LIB_PKGS[@]}" "${TEST_PKGS[@]}" "${ONNX_EXPORT_PKGS[@]}")

missing=()
for pkg in "${ALL_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Debian's npm is a package of its own; NodeSource's nodejs bundles npm and conflicts with it, so
# npm is asked for only when no npm is on the PATH.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

# The S3 test server's node packages, once (tests/s3/node_modules is not in git).
npm_ci_s3() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/s3"
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "install-deps: npm ci in tests/s3 (s3rver for the S3 tests)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

# playwright-core for the browser tests, once (tests/browser/node_modules is not in git).
npm_ci_browser() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
    echo "install-deps: npm ci in tests/browser (playwright-core for the browser tests)"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#ALL_PKGS[@]} packages present"
  npm_ci_s3
  npm_ci_browser
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run this script as root or install sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
npm_ci_s3
npm_ci_browser
echo "install-deps: done"
