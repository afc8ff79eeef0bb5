#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A complete Arkitect agent in POSIX sh with curl and jq (docs/agents.md, "Protocol"):
# register (or reuse a token), then loop: claim with a long poll, run the work while sending
# heartbeats that renew the lease, and complete with the result or fail with a reason.
#
# The work is a shell command that reads the assignment's input (JSON) on stdin and writes the
# result (JSON) on stdout; the default reviews {"diff": "..."} inputs.
#
#   ARKITECT_URL     the daemon (default: the URL in $STATE/http.url)
#   ARKITECT_TOKEN   an admin token, to register (default: $STATE/api-token), or
#   AGENT_ID, AGENT_TOKEN  an agent registered before (arkitect agents register)
#   AGENT_NAME (shell-agent), AGENT_CAPABILITY (code-review), AGENT_WORK (the command)
#   AGENT_WAIT (30s)      how long one claim waits for work
#   AGENT_HEARTBEAT (5)   seconds between heartbeats while working (keep it under the lease)
#   AGENT_MAX_TASKS (0)   stop after that many assignments (0: never)
#   STATE                 the daemon's state directory (default ~/.local/state/arkitect)
#
# Stop it with Ctrl-C: what it holds then is released for another agent.
set -eu

STATE=${STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/arkitect}
URL=${ARKITECT_URL:-$(cat "$STATE/http.url")}
NAME=${AGENT_NAME:-shell-agent}
CAPABILITY=${AGENT_CAPABILITY:-code-review}
WAIT=${AGENT_WAIT:-30s}
HEARTBEAT=${AGENT_HEARTBEAT:-5}
MAX_TASKS=${AGENT_MAX_TASKS:-0}
WORK=${AGENT_WORK:-'jq -c "{verdict: (if (.diff // \"\" | test(\"TODO\")) then \"changes-requested\" else \"approved\" end), lines: (.diff // \"\" | split(\"\n\") | length)}"'}

dir=$(mktemp -d)
work_pid=""
asg=""
fence=""
cleanup() {
	if [ -n "$work_pid" ]; then
		kill "$work_pid" 2>/dev/null || true
	fi
	if [ -n "$asg" ]; then
		# give back what we hold, so that nobody waits for our lease to expire
		post "/api/v1/assignments/$asg/release" \
			"$(jq -n --argjson f "$fence" '{fence: $f, reason: "agent stopped"}')" >/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }

# post PATH BODY: POST a JSON body as the agent; the answer goes to $dir/answer, the status to stdout
post() {
	curl -sS -o "$dir/answer" -w '%{http_code}' --max-time 30 -X POST \
		-H "Authorization: Bearer $AGENT_TOKEN" -H 'Content-Type: application/json' \
		--data-binary "$2" "$URL$1"
}

# 1. register, unless we already are someone
if [ -z "${AGENT_TOKEN:-}" ]; then
	ADMIN=${ARKITECT_TOKEN:-$(cat "$STATE/api-token")}
	curl -sSf --max-time 30 -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
		-d "$(jq -n --arg n "$NAME" --arg c "$CAPABILITY" '{name: $n, capabilities: [$c]}')" \
		"$URL/api/v1/agents" >"$dir/agent.json"
	AGENT_ID=$(jq -r .id "$dir/agent.json")
	AGENT_TOKEN=$(jq -r .token "$dir/agent.json")
	log "registered as $AGENT_ID"
fi

done_tasks=0
while [ "$MAX_TASKS" -eq 0 ] || [ "$done_tasks" -lt "$MAX_TASKS" ]; do
	# 2. claim: the answer comes as soon as work is offered to us, or 204 after the wait
	code=$(curl -sS -o "$dir/claim.json" -w '%{http_code}' --max-time 330 -X POST \
		-H "Authorization: Bearer $AGENT_TOKEN" "$URL/api/v1/agents/$AGENT_ID/claim?wait=$WAIT") ||
		{ log "the daemon is not answering; trying again"; sleep 2; continue; }
	case $code in
	204) continue ;;
	200) ;;
	401 | 403 | 404) log "claim: HTTP $code: $(jq -r .detail "$dir/claim.json")"; exit 1 ;;
	*) log "claim: HTTP $code: $(cat "$dir/claim.json")"; sleep 2; continue ;;
	esac
	asg=$(jq -r .id "$dir/claim.json")
	fence=$(jq .fence "$dir/claim.json")
	log "claimed $asg (task $(jq -r .task_id "$dir/claim.json"), fence $fence)"

	# 3. work in the background; heartbeats renew the lease and report progress meanwhile
	jq -c '.input' "$dir/claim.json" >"$dir/input.json"
	sh -c "$WORK" <"$dir/input.json" >"$dir/result.json" 2>"$dir/work.err" &
	work_pid=$!
	ticks=0
	lost=""
	while kill -0 "$work_pid" 2>/dev/null; do
		sleep 1
		ticks=$((ticks + 1))
		[ $((ticks % HEARTBEAT)) -eq 0 ] || continue
		code=$(post "/api/v1/assignments/$asg/heartbeat" \
			"$(jq -n --argjson f "$fence" --argjson s "$ticks" '{fence: $f, progress: {seconds: $s}}')") || code=000
		if [ "$code" = 409 ]; then
			# the lease is gone (expired, superseded, cancelled): drop the work
			log "lost $asg: $(jq -r .detail "$dir/answer")"
			kill "$work_pid" 2>/dev/null || true
			lost=1
		elif [ "$code" != 200 ]; then
			log "heartbeat: HTTP $code $(cat "$dir/answer" 2>/dev/null)"
		fi
	done
	status=0
	wait "$work_pid" || status=$?
	work_pid=""
	if [ -n "$lost" ]; then
		asg=""
		continue
	fi

	# 4. hand in the result, or say why there is none
	if [ "$status" -eq 0 ] && jq -e . "$dir/result.json" >/dev/null 2>&1; then
		body=$(jq -n --argjson f "$fence" --slurpfile r "$dir/result.json" '{fence: $f, result: $r[0]}')
		code=$(post "/api/v1/assignments/$asg/complete" "$body") || code=000
		log "completed $asg: HTTP $code $(cat "$dir/answer")"
	else
		reason=$(head -c 4000 "$dir/work.err" | tr -d '\000')
		body=$(jq -n --argjson f "$fence" --arg r "exit $status: ${reason:-no valid JSON result}" \
			'{fence: $f, reason: $r}')
		code=$(post "/api/v1/assignments/$asg/fail" "$body") || code=000
		log "failed $asg: HTTP $code"
	fi
	asg=""
	done_tasks=$((done_tasks + 1))
done
