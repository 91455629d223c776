// Evaluates IAM requests with @cloud-copilot/iam-simulate. Reads a JSON array of
// {name, simulation} from stdin (each `simulation` is the library's Simulation object) and
// writes a JSON array of {name, result, errors} to stdout: result is Allowed,
// ExplicitlyDenied or ImplicitlyDenied, or null when the library rejected the input.
'use strict';
const { runSimulation } = require('@cloud-copilot/iam-simulate');

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const cases = JSON.parse(input);
  const out = [];
  for (const c of cases) {
    const sim = {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...c.simulation,
    };
    const r = await runSimulation(sim, {});
    if (r.resultType === 'error') {
      out.push({ name: c.name, result: null, errors: r.errors });
    } else {
      out.push({ name: c.name, result: r.overallResult, errors: null });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
