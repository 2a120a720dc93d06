#!/usr/bin/env bash
# Install the real agent programs the subprocess-provider tests run offline:
# the Claude Code CLI, the Claude ACP agent and Codex CLI, into tests/.npm (not global).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed; the Claude Code CLI and ACP agent tests will be skipped." >&2
  exit 0
fi
mkdir -p tests/.npm
if [ ! -x tests/.npm/node_modules/.bin/claude ] || [ ! -e tests/.npm/node_modules/.bin/claude-agent-acp ] \
    || [ ! -e tests/.npm/node_modules/.bin/codex ]; then
  npm install --prefix tests/.npm --no-audit --no-fund --loglevel=error \
    @anthropic-ai/claude-code @agentclientprotocol/claude-agent-acp @openai/codex
fi
