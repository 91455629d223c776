#!/usr/bin/env bash
# Fuzz the whole compiler for SECONDS (default 1800) at the lowest priority, one job.
# libFuzzer needs a nightly toolchain (`rustup toolchain install nightly`, `cargo install
# cargo-fuzz`). Without one, the same property runs bounded in `cargo test`, longer with
# NBSYNTH_FUZZ_CASES (see tests/fuzz_properties.rs).
# Crashes land in fuzz/artifacts/compile/; copy each into tests/fuzz/ as a regression case.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-1800}"
mkdir -p corpus/compile
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  exec nice -n 19 cargo +nightly fuzz run compile corpus/compile seeds \
    -- -dict=blueprint.dict -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -timeout=10 -jobs=1
fi
echo "no nightly cargo-fuzz; running the bounded property test instead" >&2
cd ..
NBSYNTH_FUZZ_CASES="${NBSYNTH_FUZZ_CASES:-200000}" exec nice -n 19 cargo test --release --test fuzz_properties
