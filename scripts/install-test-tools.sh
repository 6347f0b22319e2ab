#!/usr/bin/env bash
# Installs what the test suite drives from Debian's packages: headless Chromium (the dashboard's
# end-to-end test) and Docker Compose (validates docker-compose.yml; no Docker engine is needed).
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver fonts-noto-cjk)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing test tools (${missing[*]}) and this is not root: install these Debian packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
