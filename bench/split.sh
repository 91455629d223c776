#!/usr/bin/env bash
# Split stacks (`stacks:`, independent layout, 256 shards) at 1,000 to 10,000 owners: wall time and
# peak RSS of `nbsynth build` (release), per owner. Appends a section to bench/RESULTS.md.
# Called by bench/run.sh after report.py; alone: `bash bench/split.sh` (after a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=bench/work/split
mkdir -p "$WORK"
NB=target/release/nbsynth
RUNS=${RUNS:-3}
: > "$WORK/split.tsv"
# Run alone, it replaces its own previous section (run.sh has just rewritten the file).
sed -i '/^## Split stacks: /,$d' bench/RESULTS.md
{
  echo
  echo "## Split stacks: 1,000 to 10,000 owners"
  echo
  echo "\`nbsynth build\` of \`bench/gen_blueprint.py N 256\` (independent layout, 256 shards; the whole"
  echo "review runs on the unsplit stack first). Median of $RUNS runs; load at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| owners | templates | resources | build (s) | per owner (ms) | peak RSS (MB) | RSS per owner (KB) |"
  echo "|---|---|---|---|---|---|---|"
  for N in 1000 2000 5000 10000; do
    python3 bench/gen_blueprint.py "$N" 256 > "$WORK/bench-$N.yaml"
    times=()
    for _ in $(seq "$RUNS"); do
      rm -rf "$WORK/out-$N"
      s=$(date +%s.%N)
      "$NB" build -q "$WORK/bench-$N.yaml" --out "$WORK/out-$N"
      times+=("$(echo "$(date +%s.%N) - $s" | bc)")
    done
    med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
    rss=$(/usr/bin/time -v "$NB" build -q "$WORK/bench-$N.yaml" --out "$WORK/out-$N" 2>&1 >/dev/null \
      | awk -F': ' '/Maximum resident set size/ {print $2}')
    templates=$(find "$WORK/out-$N" -name '*.template.yaml' | wc -l)
    resources=$(grep -h '^    Type: ' -r "$WORK/out-$N" --include='*.template.yaml' | wc -l)
    printf '%s\t%s\t%s\n' "$N" "$med" "$rss" >> "$WORK/split.tsv"
    printf '| %s | %s | %s | %.2f | %.3f | %.0f | %.0f |\n' "$N" "$templates" "$resources" "$med" \
      "$(echo "$med * 1000 / $N" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss / $N" | bc -l)"
  done
  echo
  echo "![split build cost per owner](split-vs-owners.svg)"
  echo
  echo "CDK is not in this table: one CDK stack refuses more than 500 resources, and the anchor app"
  echo "is one stack. A CDK user would split with \`NestedStack\` (each its own template, parameters"
  echo "and outputs wired by CDK) or with several \`Stack\`s and cross-stack references (exports);"
  echo "that is a different app, not the anchor, so it is not measured here."
} >> bench/RESULTS.md
python3 bench/split_plot.py
