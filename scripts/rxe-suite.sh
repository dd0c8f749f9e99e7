#!/bin/sh
# The real-kernel suite, run inside the soft-RoCE VM by `npm run test:rxe`:
# the kernel's answers to the differential catalog, recorded afresh and
# checked against test/fixtures/rxe-answers.jsonl; test/rxe (conformance on
# rxe0, the differential catalog through the backend and through the daemon
# over gRPC (RDMA_BROKER_DIFF_RXE_GRPC=0 leaves the latter out), the
# daemon end to end, cleanup against `rdma resource show`, device removal, the
# Kubernetes pod flow through the device plugin and a kubelet stand-in),
# then the fd-channel integration tests against a daemon serving rxe0
# (RDMA_BROKER_FD_DEVICE, see docs/fd-channel.md), the fast-lane tests the
# same way (docs/fast-lane.md: the lane's data path, the conformance suite's
# data-path cases through the gRPC lane and the fast lane, the example and the
# Python client, the ring fuzzer, a SIGKILLed lane client checked against
# `rdma resource show`; the data-path ones again with --fast-lane-spin), and
# `npm run example:write -- --lane fast` against a daemon serving rxe0, which
# must print `rdma-write ok`.
set -e
# The differential catalog through rdma-brokerd over gRPC on rxe0 too
# (test/rxe/differential-ibverbs.test.ts: rxe-grpc, 18 to 19 min under TCG).
export RDMA_BROKER_DIFF_RXE_GRPC="${RDMA_BROKER_DIFF_RXE_GRPC:-1}"
# The guest's shell starts with 4096 open files; the daemon's per-tenant fd
# quota is a share of its limit, and the fd-channel tests hold thousands of
# MR memfds at once. A service gets its limit from its unit (LimitNOFILE).
ulimit -n 65536
echo "rxe-suite: recording the kernel's answers to test/differential/cases.txt"
out=.cache/differential
mkdir -p "$out"
gcc -O2 -Wall -Wno-format-truncation -o "$out/recorder" test/differential/recorder.c -libverbs
"$out/recorder" test/differential/cases.txt rxe0 "$(dpkg-query -W -f='${Version}' libibverbs1)" > "$out/rxe-answers.jsonl"
head -n 1 "$out/rxe-answers.jsonl"
tail -n +2 "$out/rxe-answers.jsonl" > "$out/fresh.body"
tail -n +2 test/fixtures/rxe-answers.jsonl > "$out/fixture.body"
if ! cmp -s "$out/fresh.body" "$out/fixture.body"; then
  echo "rxe-suite: the kernel's answers differ from test/fixtures/rxe-answers.jsonl (fresh: $out/rxe-answers.jsonl):"
  diff "$out/fixture.body" "$out/fresh.body" | cut -c1-400 | head -n 40 || true
  exit 1
fi
echo "rxe-suite: $(wc -l < "$out/fresh.body") recorded answers agree with test/fixtures/rxe-answers.jsonl"
npx vitest run --config vitest.rxe.config.ts
echo "rxe-suite: fd-channel tests on rxe0"
RDMA_BROKER_FD_DEVICE=rxe0 npx vitest run test/integration/fd- \
  --no-file-parallelism --testTimeout 300000 --hookTimeout 300000
echo "rxe-suite: fast-lane tests on rxe0"
RDMA_BROKER_FD_DEVICE=rxe0 npx vitest run test/integration/lane \
  --no-file-parallelism --testTimeout 300000 --hookTimeout 300000
echo "rxe-suite: the lane's data-path tests on rxe0 against a --fast-lane-spin daemon"
RDMA_BROKER_FD_DEVICE=rxe0 RDMA_BROKER_LANE_SPIN=1 npx vitest run test/integration/lane.test.ts test/integration/lane-conformance.test.ts \
  --no-file-parallelism --testTimeout 300000 --hookTimeout 300000
echo "rxe-suite: npm run example:write -- --lane fast on rxe0"
lane_dir=$(mktemp -d /tmp/rxe-lane.XXXXXX)
node bin/rdma-brokerd.js --device ibverbs --socket "$lane_dir/broker.sock" --log-format json > "$lane_dir/daemon.log" 2>&1 &
lane_daemon=$!
tries=0
until [ -S "$lane_dir/broker.sock.fd" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 600 ] || ! kill -0 "$lane_daemon" 2>/dev/null; then
    echo "rxe-suite: the daemon did not start:"; cat "$lane_dir/daemon.log"; exit 1
  fi
  sleep 0.5
done
lane_out=$(npm run -s example:write -- --socket "$lane_dir/broker.sock" --device rxe0 --lane fast --bytes 65536 2>&1) || true
kill -TERM "$lane_daemon"
wait "$lane_daemon" || true
echo "$lane_out"
case "$lane_out" in
  "rdma-write ok 65536 bytes") echo "rxe-suite: the fast lane wrote on rxe0" ;;
  *) echo "rxe-suite: expected 'rdma-write ok 65536 bytes' through the fast lane on rxe0"; tail -n 20 "$lane_dir/daemon.log"; exit 1 ;;
esac
