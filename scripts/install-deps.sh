#!/usr/bin/env bash
# Installs the Debian packages the broker uses at run time and in its tests:
# rdma-core's user space (libibverbs and its providers, headers for the
# struct-layout test, the ibv_* and rdma tools), gcc, and openssl (the TLS tests
# make their certificates with it), bubblewrap (the Kubernetes tests run
# their pods in it), python3-grpcio and python3-grpc-tools (the Python gRPC
# example, examples/grpc-session.py, and its test) and tmux (the test of
# `rdmactl top` runs it in a tmux pane). Needs root.
set -euo pipefail
pkgs=(libibverbs1 ibverbs-providers libibverbs-dev ibverbs-utils rdma-core iproute2 gcc libc6-dev openssl bubblewrap
  python3-grpcio python3-grpc-tools tmux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
