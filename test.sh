#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the validators (Debian packages and a
# Python venv with pinned cfn-lint, checkov, moto, awscli, jupyter_server), then runs the Rust
# tests and the behaviour tests against the real tools.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/setup-tools
cargo build --locked --bins
export NBSYNTH_BIN="$PWD/target/debug/nbsynth"
cargo test --locked --all-targets
.venv/bin/python -m pytest tests/python -q -p no:cacheprovider
