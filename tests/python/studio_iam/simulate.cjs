// Runs @cloud-copilot/iam-simulate over cases read as JSON from stdin: [{name, simulation}], where
// `simulation` is the library's Simulation object. Writes [{name, result, errors}]: result is
// Allowed, ExplicitlyDenied or ImplicitlyDenied, or null when the library refused the input.
'use strict';
const { runSimulation } = require('@cloud-copilot/iam-simulate');

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const out = [];
  for (const c of JSON.parse(input)) {
    const r = await runSimulation(
      { identityPolicies: [], serviceControlPolicies: [], resourceControlPolicies: [], ...c.simulation },
      {},
    );
    out.push(r.resultType === 'error'
      ? { name: c.name, result: null, errors: r.errors }
      : { name: c.name, result: r.overallResult, errors: null });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
