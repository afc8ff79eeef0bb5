// SPDX-License-Identifier: LGPL-2.1-or-later
// Arkitect's MCP server driven by the official TypeScript SDK client, end to end:
//
//   node mcp-e2e.mjs --http URL TOKEN
//   node mcp-e2e.mjs --stdio COMMAND [ARGS...]
//
// initialize, list the tools, submit a workflow and follow it through progress and resource
// notifications to the end, read a task's log, cancel another run, a task-augmented call
// (MCP tasks), explain a blocked task, prompts and completion. TAP on stdout.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [mode, target, ...rest] = process.argv.slice(2);
let n = 0;
let failed = 0;
const ok = (cond, name, detail) => {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${mode} ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${mode} ${name}`);
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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const transport = mode === '--stdio'
  ? new StdioClientTransport({ command: target, args: rest, stderr: 'inherit',
    env: { ...process.env } })
  : new StreamableHTTPClientTransport(new URL(target), {
    requestInit: { headers: { Authorization: `Bearer ${rest[0]}` } },
  });
const client = new Client({ name: 'arkitect-e2e', version: '1.0.0' }, { capabilities: {} });
const updated = [];
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updated.push(n.params.uri));

const text = (r) => r.content.map((c) => c.text ?? '').join('');

await check('initialize', async () => {
  await client.connect(transport);
  ok(client.getServerVersion()?.name === 'arkitect', 'initialize: serverInfo names arkitect',
    client.getServerVersion());
  ok(client.getServerCapabilities()?.tasks?.requests?.tools?.call !== undefined,
    'initialize: tasks capability for tools/call');
});

const tools = [];
await check('tools/list', async () => {
  let cursor;
  do {
    const r = await client.listTools(cursor ? { cursor } : {});
    tools.push(...r.tools);
    cursor = r.nextCursor;
  } while (cursor);
  const names = tools.map((t) => t.name);
  for (const want of ['get_status', 'list_runs', 'get_run', 'submit_workflow', 'add_task',
    'cancel_run', 'cancel_task', 'retry_task', 'read_task_log', 'list_dlq', 'replay_dlq',
    'list_plugins', 'explain_task', 'wait_for_run'])
    ok(names.includes(want), `tools/list has ${want}`, names);
  ok(tools.every((t) => t.description && t.inputSchema.type === 'object' &&
    t.outputSchema?.type === 'object' && typeof t.annotations?.readOnlyHint === 'boolean'),
  'every tool has a description, object schemas and annotations');
});

let runId;
await check('submit and follow', async () => {
  const wf = {
    name: 'e2e',
    tasks: [
      { id: 'hello', run: ['sh', '-c', 'echo hello from arkitect'] },
      { id: 'after', needs: ['hello'], run: ['sh', '-c', 'sleep 0.5; echo after'] },
    ],
  };
  const r = await client.callTool({ name: 'submit_workflow', arguments: { workflow: wf } });
  ok(!r.isError && r.structuredContent.run_id, 'submit_workflow returns a run id', r);
  runId = r.structuredContent.run_id;
  await client.subscribeResource({ uri: `arkitect://runs/${runId}` });
  const progress = [];
  const w = await client.callTool({ name: 'wait_for_run', arguments: { run_id: runId } },
    CallToolResultSchema, { onprogress: (p) => progress.push(p), timeout: 60000 });
  ok(w.structuredContent.state === 'succeeded' && w.structuredContent.finished,
    'wait_for_run returns the finished run', w.structuredContent);
  // The server sends progress up to "2 of 2" before the answer (tests/mcp/mcp-protocol-test.py
  // checks the wire); the SDK client (1.32) handles notifications a microtask later than
  // responses, and drops progress that arrives in the same read as the answer it belongs to.
  ok(progress.length >= 1 && progress.every((p, i) => i === 0 ||
    p.progress >= progress[i - 1].progress), 'progress notifications follow the run', progress);
  await sleep(200);
  ok(updated.includes(`arkitect://runs/${runId}`),
    'notifications/resources/updated for the subscribed run', updated);
  const res = await client.readResource({ uri: `arkitect://runs/${runId}` });
  ok(JSON.parse(res.contents[0].text).run.state === 'succeeded', 'resources/read of the run');
});

await check('logs', async () => {
  const r = await client.callTool({ name: 'read_task_log',
    arguments: { run_id: runId, task_id: 'hello', tail_lines: 5 } });
  ok(!r.isError && r.structuredContent.text.includes('hello from arkitect'),
    'read_task_log returns the output', r);
  const res = await client.readResource(
    { uri: `arkitect://runs/${runId}/tasks/hello/attempts/1/log` });
  ok(res.contents[0].text.includes('hello from arkitect'), 'the attempt log as a resource', res);
});

await check('cancel', async () => {
  const r = await client.callTool({ name: 'submit_workflow', arguments: {
    workflow: { name: 'e2e-cancel', tasks: [{ id: 'long', run: ['sleep', '60'] }] } } });
  const id = r.structuredContent.run_id;
  const c = await client.callTool({ name: 'cancel_run', arguments: { run_id: id,
    reason: 'e2e' } });
  ok(!c.isError, 'cancel_run', c);
  const w = await client.callTool({ name: 'wait_for_run', arguments: { run_id: id,
    timeout_seconds: 30 } });
  ok(w.structuredContent.state === 'cancelled', 'the other run ends cancelled',
    w.structuredContent);
});

await check('task-augmented call', async () => {
  let created;
  let result;
  const stream = client.experimental.tasks.callToolStream({ name: 'submit_workflow',
    arguments: { wait: true, workflow: { name: 'e2e-task', tasks: [
      { id: 't', run: ['sh', '-c', 'sleep 0.3; echo task'] }] } } },
  CallToolResultSchema, { task: { ttl: 60000 } });
  for await (const m of stream) {
    if (m.type === 'taskCreated') created = m.task;
    if (m.type === 'result') result = m.result;
    if (m.type === 'error') throw m.error;
  }
  ok(created?.taskId && created.status === 'working', 'tools/call with task: CreateTaskResult',
    created);
  ok(result?.structuredContent?.state === 'succeeded', 'tasks/result: the run succeeded',
    result);
  const t = await client.experimental.tasks.getTask(created.taskId);
  ok(t.status === 'completed', 'tasks/get: completed', t);
  const list = await client.experimental.tasks.listTasks();
  ok(list.tasks.some((x) => x.taskId === created.taskId), 'tasks/list has it', list);
});

await check('explain', async () => {
  const r = await client.callTool({ name: 'submit_workflow', arguments: { workflow: {
    name: 'e2e-blocked', tasks: [
      { id: 'first', run: ['sleep', '60'] },
      { id: 'second', needs: ['first'], run: ['true'] }] } } });
  const id = r.structuredContent.run_id;
  const e = await client.callTool({ name: 'explain_task', arguments: { run_id: id,
    task_id: 'second' } });
  const x = e.structuredContent;
  ok(!e.isError && x.state === 'pending' && x.summary.includes('first') &&
    x.waiting_for?.[0]?.task_id === 'first', 'explain_task: a pending task waits for its need',
  x);
  const add = await client.callTool({ name: 'add_task', arguments: { run_id: id,
    task: { id: 'third', needs: ['nope'], run: ['true'] } } });
  ok(add.isError && text(add).includes('nope'), 'add_task: a bad need is a tool error', add);
  const add2 = await client.callTool({ name: 'add_task', arguments: { run_id: id,
    task: { id: 'third', needs: ['first'], run: ['true'] } } });
  ok(!add2.isError && add2.structuredContent.task.id === 'third', 'add_task to an open run',
    add2);
  await client.callTool({ name: 'cancel_run', arguments: { run_id: id } });
});

await check('prompts and completion', async () => {
  const p = await client.listPrompts();
  ok(p.prompts.some((x) => x.name === 'diagnose_failed_run'), 'prompts/list');
  const g = await client.getPrompt({ name: 'diagnose_failed_run',
    arguments: { run_id: runId } });
  ok(g.messages[0].content.text.includes(runId), 'prompts/get diagnose_failed_run', g);
  const c = await client.complete({ ref: { type: 'ref/resource',
    uri: 'arkitect://runs/{run_id}' }, argument: { name: 'run_id',
    value: runId.slice(0, 4) } });
  ok(c.completion.values.includes(runId), 'completion/complete of run ids', c);
});

await check('close', async () => {
  if (mode === '--http' && transport.sessionId) await transport.terminateSession();
  await client.close();
  ok(true, 'close');
});
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
