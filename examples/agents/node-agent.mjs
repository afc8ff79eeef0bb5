#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A complete Arkitect agent in Node (18 or newer: the built-in fetch, no packages), the same
// loop as shell-agent.sh (docs/agents.md, "Protocol"): register, then claim with a long poll,
// work while heartbeats renew the lease, complete with the result or fail with a reason.
//
//   node node-agent.mjs
//
// Environment: ARKITECT_URL, ARKITECT_TOKEN (admin, to register) or AGENT_ID + AGENT_TOKEN,
// AGENT_NAME (node-agent), AGENT_CAPABILITY (code-review), AGENT_WAIT (30s),
// AGENT_HEARTBEAT_MS (5000), AGENT_MAX_TASKS (0: never stop), STATE (the daemon's state dir,
// where http.url and api-token are read from when the URL or token is not given).

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const env = process.env;
const state = env.STATE ?? join(env.XDG_STATE_HOME ?? join(homedir(), ".local/state"), "arkitect");
const url = (env.ARKITECT_URL ?? readFileSync(join(state, "http.url"), "utf8")).trim();
const name = env.AGENT_NAME ?? "node-agent";
const capability = env.AGENT_CAPABILITY ?? "code-review";
const wait = env.AGENT_WAIT ?? "30s";
const heartbeatMs = Number(env.AGENT_HEARTBEAT_MS ?? 5000);
const maxTasks = Number(env.AGENT_MAX_TASKS ?? 0);

const log = (...args) => console.error(`${name}:`, ...args);

async function call(method, path, token, body) {
	const res = await fetch(url + path, {
		method,
		headers: {
			Authorization: `Bearer ${token}`,
			...(body !== undefined ? { "Content-Type": "application/json" } : {}),
		},
		body: body !== undefined ? JSON.stringify(body) : undefined,
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null };
}

// The work: a small "review" of {"diff": "..."}. A real agent calls a model or a tool here.
// `progress` is what the next heartbeat reports.
async function work(input, progress) {
	const lines = String(input?.diff ?? "").split("\n");
	const findings = [];
	for (const [i, line] of lines.entries()) {
		if (/TODO|FIXME/.test(line)) findings.push({ line: i + 1, note: "unfinished work" });
		progress.lines = i + 1;
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	return { verdict: findings.length ? "changes-requested" : "approved", findings, lines: lines.length };
}

// 1. register, unless we already are someone
let agentId = env.AGENT_ID;
let agentToken = env.AGENT_TOKEN;
if (!agentToken) {
	const admin = (env.ARKITECT_TOKEN ?? readFileSync(join(state, "api-token"), "utf8")).trim();
	const r = await call("POST", "/api/v1/agents", admin, { name, capabilities: [capability] });
	if (r.status !== 201) throw new Error(`register: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
	({ id: agentId, token: agentToken } = r.body);
	log(`registered as ${agentId}`);
}

let held = null; // {id, fence} while we hold an assignment
const stop = async () => {
	if (held) // give it back, so that nobody waits for our lease to expire
		await call("POST", `/api/v1/assignments/${held.id}/release`, agentToken,
			{ fence: held.fence, reason: "agent stopped" }).catch(() => {});
	process.exit(130);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

for (let done = 0; maxTasks === 0 || done < maxTasks;) {
	// 2. claim: answered as soon as work is offered to us, or 204 after the wait
	let claim;
	try {
		claim = await call("POST", `/api/v1/agents/${agentId}/claim?wait=${wait}`, agentToken);
	} catch (e) {
		log(`the daemon is not answering (${e.message}); trying again`);
		await new Promise((resolve) => setTimeout(resolve, 2000));
		continue;
	}
	if (claim.status === 204) continue;
	if (claim.status !== 200) {
		log(`claim: HTTP ${claim.status}: ${claim.body?.detail}`);
		if ([401, 403, 404].includes(claim.status)) process.exit(1);
		await new Promise((resolve) => setTimeout(resolve, 2000));
		continue;
	}
	const asg = claim.body;
	held = { id: asg.id, fence: asg.fence };
	log(`claimed ${asg.id} (task ${asg.task_id}, fence ${asg.fence})`);

	// 3. work; heartbeats renew the lease and report progress meanwhile
	const progress = {};
	let lost = false;
	const timer = setInterval(async () => {
		const r = await call("POST", `/api/v1/assignments/${asg.id}/heartbeat`, agentToken,
			{ fence: asg.fence, progress }).catch(() => null);
		if (r?.status === 409) {
			// the lease is gone (expired, superseded, cancelled): whatever we send is refused
			log(`lost ${asg.id}: ${r.body?.detail}`);
			lost = true;
		}
	}, heartbeatMs);
	let result, failure;
	try {
		result = await work(asg.input, progress);
	} catch (e) {
		failure = String(e?.stack ?? e).slice(0, 4000);
	} finally {
		clearInterval(timer);
	}

	// 4. hand in the result, or say why there is none
	if (!lost) {
		const r = failure === undefined
			? await call("POST", `/api/v1/assignments/${asg.id}/complete`, agentToken,
				{ fence: asg.fence, result })
			: await call("POST", `/api/v1/assignments/${asg.id}/fail`, agentToken,
				{ fence: asg.fence, reason: failure });
		log(`${failure === undefined ? "completed" : "failed"} ${asg.id}: HTTP ${r.status}`,
			JSON.stringify(r.body));
	}
	held = null;
	done++;
}
