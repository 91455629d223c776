// Evaluates request contexts against a guardrail policy with the offline IAM simulator.
// stdin: {"scp": POLICY, "boundary": POLICY, "cases": [{"name", "principal", "action",
//   "resource", "context"}]}; stdout: [{"name", "scp", "boundary", "errors"}] where scp and
// boundary are the simulator's overall results ("Allowed", "ExplicitlyDenied", ...).
// The caller is an administrator (identity policy Allow *), so only the guardrail can deny.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const ACCOUNT = '111122223333'
const allowAll = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }

const input = JSON.parse(await new Promise((resolve) => {
  let text = ''
  process.stdin.on('data', (d) => (text += d))
  process.stdin.on('end', () => resolve(text))
}))

function request(c) {
  return {
    principal: c.principal,
    action: c.action,
    resource: { resource: c.resource, accountId: ACCOUNT },
    contextVariables: c.context
  }
}

async function run(simulation) {
  const r = await runSimulation(simulation, {})
  if (r.resultType === 'error') return { result: 'error', errors: r.errors }
  return { result: r.overallResult }
}

const out = []
for (const c of input.cases) {
  const scp = await run({
    request: request(c),
    identityPolicies: [{ name: 'admin', policy: allowAll }],
    serviceControlPolicies: [
      { orgIdentifier: 'r-root', policies: [{ name: 'FullAWSAccess', policy: allowAll }] },
      { orgIdentifier: ACCOUNT, policies: [{ name: 'FullAWSAccess', policy: allowAll }, { name: 'nbsynth', policy: input.scp }] }
    ],
    resourceControlPolicies: []
  })
  const boundary = await run({
    request: request(c),
    identityPolicies: [{ name: 'admin', policy: allowAll }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    permissionBoundaryPolicies: [{ name: 'nbsynth', policy: input.boundary }]
  })
  out.push({ name: c.name, scp: scp.result, boundary: boundary.result, errors: scp.errors || boundary.errors || null })
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n')
