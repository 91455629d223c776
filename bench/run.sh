#!/usr/bin/env bash
# Side-by-side benchmark: nbsynth build / check versus the AWS CDK app in ../shared/anchors/cdk
# and cfn-lint, at N = 1, 10, 100, 160 owners. Writes bench/RESULTS.md and bench/time-vs-owners.svg.
#   bench/run.sh            full run (about 10 minutes)
#   RUNS=3 bench/run.sh     fewer repetitions
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work
RUNS=${RUNS:-10}
# nbsynth runs take tens of milliseconds: more of them cost nothing and steady the median.
NB_RUNS=${NB_RUNS:-30}
ANCHOR=${CDK_ANCHOR:-$ROOT/../shared/anchors/cdk}
mkdir -p "$WORK"
# Other work on the machine skews every number: record the load before and after.
uptime > "$WORK/load.txt"
bash .ci/setup-tools
cargo build --release --locked --quiet
NB=$ROOT/target/release/nbsynth
LINT=$ROOT/.venv/bin/cfn-lint

# The competitor, copied so its output lands in our work tree.
if [ ! -d "$WORK/cdk/node_modules" ]; then
  mkdir -p "$WORK/cdk"
  cp "$ANCHOR"/{app.js,package.json,package-lock.json,cdk.json} "$WORK/cdk/"
  (cd "$WORK/cdk" && npm ci --silent --no-audit --no-fund)
fi

peak_rss_mb() { # command... -> peak resident set size in MB
  /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}'
}

: > "$WORK/rss.tsv"
for N in 1 10 100 160; do
  python3 bench/gen_blueprint.py "$N" > "$WORK/bench-$N.yaml"
  OUT=$WORK/out-$N
  "$NB" build -q "$WORK/bench-$N.yaml" --out "$OUT"
  "$NB" build -q --format json "$WORK/bench-$N.yaml" --out "$OUT-json"
  T=$OUT/bench-$N.template.yaml
  hyperfine -N --warmup 3 --runs "$NB_RUNS" --export-json "$WORK/nbsynth-build-$N.json" \
    "$NB build -q $WORK/bench-$N.yaml --out $OUT" >/dev/null
  hyperfine -N --warmup 3 --runs "$NB_RUNS" -i --export-json "$WORK/nbsynth-check-$N.json" "$NB check $T" >/dev/null
  hyperfine -N --warmup 1 --runs "$(( RUNS < 5 ? RUNS : 5 ))" -i --export-json "$WORK/cfnlint-nbsynth-$N.json" "$LINT $T" >/dev/null
  printf 'nbsynth-build\t%s\t%s\n' "$N" "$(peak_rss_mb "$NB" build -q "$WORK/bench-$N.yaml" --out "$OUT")" >> "$WORK/rss.tsv"
  printf 'nbsynth-check\t%s\t%s\n' "$N" "$(peak_rss_mb "$NB" check "$T")" >> "$WORK/rss.tsv"
  printf 'cfnlint-nbsynth\t%s\t%s\n' "$N" "$(peak_rss_mb "$LINT" "$T" || true)" >> "$WORK/rss.tsv"
  # CDK refuses N >= 161 (more than 500 resources); 160 is the largest stack both can build.
  if [ "$N" -le 160 ]; then
    C=$WORK/cdk-$N
    (cd "$WORK/cdk" && NB_USERS=$N CDK_OUTDIR=$C node app.js)
    CT=$C/SecureNotebooks.template.json
    (cd "$WORK/cdk" && hyperfine -N --warmup 1 --runs "$(( RUNS < 5 ? RUNS : 5 ))" --export-json "$WORK/cdk-node-$N.json" \
      "env NB_USERS=$N CDK_OUTDIR=$C node app.js" >/dev/null)
    (cd "$WORK/cdk" && hyperfine --warmup 1 --runs "$(( RUNS < 5 ? RUNS : 5 ))" --export-json "$WORK/cdk-synth-$N.json" \
      "NB_USERS=$N npx cdk synth --quiet -o $C-synth" >/dev/null)
    hyperfine -N --warmup 3 --runs "$NB_RUNS" -i --export-json "$WORK/nbsynth-check-cdk-$N.json" "$NB check $CT" >/dev/null
    hyperfine -N --warmup 1 --runs "$(( RUNS < 5 ? RUNS : 5 ))" -i --export-json "$WORK/cfnlint-cdk-$N.json" "$LINT $CT" >/dev/null
    printf 'cdk-synth\t%s\t%s\n' "$N" "$(cd "$WORK/cdk" && NB_USERS=$N peak_rss_mb npx cdk synth --quiet -o "$C-synth")" >> "$WORK/rss.tsv"
    printf 'cfnlint-cdk\t%s\t%s\n' "$N" "$(peak_rss_mb "$LINT" "$CT" || true)" >> "$WORK/rss.tsv"
  fi
done

# In-process stages past CloudFormation's limits: linear growth in owners.
cargo run --release --locked --quiet --example scale -- 100 1000 10000 > "$WORK/scale.tsv"
uptime >> "$WORK/load.txt"

python3 bench/report.py "$WORK" > bench/RESULTS.md
# Split stacks past one template: 1,000 and 10,000 owners.
bash bench/split.sh
echo "wrote bench/RESULTS.md and bench/time-vs-owners.svg"
