#!/usr/bin/env bash
# Installs whatever Keel's build and tests need that this Debian 12 machine lacks.
# Idempotent: when everything is present it only checks and returns in well under a second.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev node-llhttp libpoco-dev libssl-dev libsqlite3-dev libargon2-dev
  libcppunit-dev libbenchmark-dev libyaml-cpp-dev
  curl python3 openssl media-types
  clang chromium
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
