#!/bin/sh
# setup-ab.sh: time two or more ember binaries side by side in ONE test host, alternating
# (docs/bench/setup-breakdown.md). Run it from the repo root, in the test host:
#   scripts/testhost run --timeout 15m -- env RUNS=10 sh docs/bench/setup-ab.sh OUT ROUNDS MODE BIN...
# MODE is ember bench's --ember (setup: to the first KVM_RUN only; boot: to ready); each BIN
# (a path under the repo) is copied to the test host's tmpfs and runs `ember bench --ember
# MODE --vs ''` RUNS times per round (default 10; set inside the test host, as above); OUT gets one --json file per binary and round.
set -e
out=$1 rounds=$2 mode=$3
shift 3
mkdir -p /tmp/ab "$out"
cp guest-images/out/bzImage guest-images/out/initramfs.cpio.gz /tmp/ab/
n=0
for b in "$@"; do n=$((n + 1)); cp "$b" "/tmp/ab/ember.$n"; done
i=1
while [ "$i" -le "$rounds" ]; do
  n=0
  for b in "$@"; do
    n=$((n + 1))
    echo "== $b, round $i"
    "/tmp/ab/ember.$n" bench --ember "$mode" --vs '' --runs "${RUNS:-10}" --progress off \
      --kernel /tmp/ab/bzImage --initrd /tmp/ab/initramfs.cpio.gz --json "$out/$n-$i.json" |
      grep -E 'start → ready|VMM set-up|exec \+|VM build|first KVM_RUN|RSS|file-backed' || true
  done
  i=$((i + 1))
done
