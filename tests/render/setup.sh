#!/usr/bin/env bash
# What the dashboard render test needs: chromium from the OS packages (as root, non-interactive)
# and the pinned npm packages (npm ci, from package-lock.json). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null
    else
        echo "chromium is missing: install it as root (apt-get install chromium)" >&2
        exit 1
    fi
fi
npm ci --no-audit --no-fund
