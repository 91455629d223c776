# Fills the `${Output}` placeholders of an nbsynth guardrail policy with the stack's outputs.
#   aws cloudformation describe-stacks --stack-name NAME --query 'Stacks[0].Outputs' > outputs.json
#   jq -c --slurpfile o outputs.json -f NAME.guardrails/fill.jq NAME.guardrails/scp.json
# ${SubnetIds} (a comma-separated output) becomes one list entry per subnet; ${KmsKeyId} is the
# last part of ${KmsKeyArn}. A placeholder without an output is an error, not an empty value.
def outputs: $o[0] | map({(.OutputKey): .OutputValue}) | add;
def values: outputs | . + {KmsKeyId: ((.KmsKeyArn // "") | split("/") | last)};
values as $v
| walk(
    if type == "string" and test("^\\$\\{[A-Za-z]+\\}$") then
      . as $p | ($v[$p[2:-1]] // error("no stack output for " + $p))
    elif type == "array" then
      map(if type == "string" and test(",") then split(",")[] else . end)
    else . end)
