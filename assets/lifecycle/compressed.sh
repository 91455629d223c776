#!/bin/bash
# nbsynth: a lifecycle script compressed to fit CloudFormation's 16 KiB limit (readable source: the build output).
# Decoded in full before anything runs, so a damaged payload runs nothing. Stack values stay out
# of the payload (CloudFormation cannot see into it) and are put back by sed after decoding.
set -euo pipefail
t=$(mktemp)
trap 'rm -f "$t"' EXIT
base64 -d <<'EOF' | gunzip >"$t"
{{ payload }}EOF
{% for token, value in substitutions %}sed -i 's|{{ token }}|{{ value }}|g' "$t"
{% endfor %}bash "$t"
