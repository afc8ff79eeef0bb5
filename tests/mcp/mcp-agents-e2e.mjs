// SPDX-License-Identifier: LGPL-2.1-or-later
// An agent loop driven by the official TypeScript SDK client over Streamable HTTP:
//
//   node mcp-agents-e2e.mjs URL ADMIN_TOKEN
//
// A supervisor client (the admin token) registers an agent and submits a workflow with an
// agent task; an agent client connects with the agent's own token as its bearer token, sees
// the agent tools only, claims the assignment, reports progress, completes it, and the
// supervisor sees the run succeed and the agent's trust grow. The agent's session can not
// submit work. The SDK checks every structuredContent against the tool's outputSchema. TAP.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';

const [url, adminToken] = process.argv.slice(2);
let n = 0;
let failed = 0;
const ok = (cond, name, detail) => {
  n++;
  if (cond) {
    console.log(`ok ${n} - agents ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - agents ${name}`);
    if (detail !== undefined)
      for (const line of String(typeof detail === 'string' ? detail : JSON.stringify(detail))
        .split('\n').slice(0, 20))
        console.log(`#   ${line}`);
  }
};
const check = async (name, fn) => {
  try {
    await fn();
  } catch (e) {
    ok(false, name, e?.stack ?? String(e));
  }
};
const text = (r) => r.content.map((c) => c.text ?? '').join('');
const connect = async (token, name) => {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name, version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
};

let supervisor;
let agent;
let agentInfo;
let runId;

await check('supervisor', async () => {
  supervisor = await connect(adminToken, 'arkitect-supervisor');
  const r = await supervisor.client.callTool({ name: 'agent_register', arguments: {
    name: 'e2e-assistant', capabilities: ['summarize', { name: 'review', proficiency: 0.8 }],
    metadata: { model: 'e2e' } } });
  agentInfo = r.structuredContent;
  ok(!r.isError && agentInfo.id?.startsWith('agt_') && agentInfo.token?.startsWith('arkagt_'),
    'agent_register (supervisor) returns the agent and its token', r);
  const s = await supervisor.client.callTool({ name: 'submit_workflow', arguments: {
    workflow: { name: 'e2e-agents', tasks: [
      { id: 'summary', executor: 'agent', input: { text: 'MCP lets assistants use tools.' },
        agent: { capabilities: ['summarize'], accept: { schema: { type: 'object',
          required: ['summary'], properties: { summary: { type: 'string' } } } } } },
      { id: 'publish', needs: ['summary'], run: ['true'] }] } } });
  runId = s.structuredContent?.run_id;
  ok(!s.isError && runId, 'submit_workflow with an agent task', s);
});

await check('agent session', async () => {
  agent = await connect(agentInfo.token, 'arkitect-agent');
  ok(agent.client.getServerCapabilities()?.resources === undefined,
    'the agent session declares no resources', agent.client.getServerCapabilities());
  ok(agent.client.getInstructions()?.includes(agentInfo.id),
    'the instructions name the agent', agent.client.getInstructions());
  const tools = (await agent.client.listTools()).tools.map((t) => t.name).sort();
  ok(JSON.stringify(tools) === JSON.stringify(['agent_assignments', 'agent_claim',
    'agent_complete', 'agent_fail', 'agent_heartbeat', 'agent_release']),
  'the agent sees the agent tools only', tools);
  const denied = await agent.client.callTool({ name: 'submit_workflow', arguments: {
    workflow: { name: 'x', tasks: [{ id: 'a', run: ['true'] }] } } });
  ok(denied.isError && text(denied).includes('only the agent tools'),
    'the agent session can not submit work', denied);
});

await check('the loop', async () => {
  const progress = [];
  const c = await agent.client.callTool({ name: 'agent_claim', arguments: { wait_seconds: 30 } },
    CallToolResultSchema, { onprogress: (p) => progress.push(p), timeout: 60000,
      resetTimeoutOnProgress: true });
  const a = c.structuredContent?.assignment;
  ok(!c.isError && a?.run_id === runId && a.input?.text?.startsWith('MCP') &&
    Number.isInteger(a.fence), 'agent_claim returns the assignment with input and fence', c);
  const h = await agent.client.callTool({ name: 'agent_heartbeat', arguments: {
    assignment_id: a.id, fence: a.fence, progress: { step: 'reading' } } });
  ok(!h.isError, 'agent_heartbeat with progress renews the lease', h);
  const bad = await agent.client.callTool({ name: 'agent_complete', arguments: {
    assignment_id: a.id, fence: a.fence + 1, result: { summary: 'x' } } });
  ok(bad.isError && text(bad).startsWith('conflict'), 'a stale fence is a conflict', bad);
  const mine = await agent.client.callTool({ name: 'agent_assignments', arguments: {} });
  ok(mine.structuredContent.assignments.some((x) => x.id === a.id),
    'agent_assignments lists it', mine);
  const done = await agent.client.callTool({ name: 'agent_complete', arguments: {
    assignment_id: a.id, fence: a.fence,
    result: { summary: 'Assistants call tools through MCP.' } } });
  ok(!done.isError && ['completed', 'checking'].includes(done.structuredContent.state),
    'agent_complete: the result passes the acceptance schema', done);
  const w = await supervisor.client.callTool({ name: 'wait_for_run', arguments: {
    run_id: runId, timeout_seconds: 60 } }, CallToolResultSchema, { timeout: 90000 });
  ok(w.structuredContent.state === 'succeeded', 'the run succeeds', w.structuredContent);
  const g = await supervisor.client.callTool({ name: 'get_agent', arguments: {
    agent_id: agentInfo.id } });
  ok(!g.isError && g.structuredContent.trust?.summarize !== undefined,
    'get_agent shows the agent\'s trust for the capability it used', g.structuredContent);
  const e = await supervisor.client.callTool({ name: 'explain_assignment', arguments: {
    assignment_id: a.id } });
  ok(!e.isError && e.structuredContent.history !== undefined,
    'explain_assignment after the fact', e.structuredContent);
});

await check('close', async () => {
  for (const s of [agent, supervisor]) {
    if (!s) continue;
    if (s.transport.sessionId) await s.transport.terminateSession();
    await s.client.close();
  }
  ok(true, 'close');
});
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
