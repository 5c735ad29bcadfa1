#!/bin/sh
# In the test host (docs/bench/memory-breakdown.md): a running VM (1 vCPU, 256M, disk, --net user) and
# where its VMM process's memory outside guest RAM is, with the kernel's
# fault-around at its default (64 KiB) and at one page.
set -u
E=$PWD/bin/ember
O=$PWD/guest-images/out
S=/tmp/memprobe-state
mkdir -p /tmp/mp; cp $O/rootfs.ext4 /tmp/mp/disk.ext4
mount -t debugfs none /sys/kernel/debug 2>/dev/null
for fa in 65536 4096; do
  echo $fa > /sys/kernel/debug/fault_around_bytes
  echo "== fault_around_bytes $(cat /sys/kernel/debug/fault_around_bytes)"
  echo 3 > /proc/sys/vm/drop_caches
  $E start --state-dir $S --name mp --kernel $O/bzImage --initrd $O/initramfs.cpio.gz --cpus 1 --memory 256M \
     --disk /tmp/mp/disk.ext4 --net user >/dev/null || exit 1
  i=0; until $E exec --state-dir $S mp -- true 2>/dev/null; do i=$((i+1)); [ $i -gt 60 ] && break; sleep 1; done
  sleep 3
  pid=$(cat $S/mp/pid)
  echo "pid $pid"
  grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Anonymous|Shared_Clean|Private_Clean|Private_Dirty)' /proc/$pid/smaps_rollup
  awk '/^[0-9a-f]+-[0-9a-f]+ /{h=$0; next} /^Size:/{sz=$2} /^Rss:/{ if ($2>0) printf "%8d KiB rss of %8d KiB  %s\n", $2, sz, h }' /proc/$pid/smaps | sort -rn | head -25
  $E rm --force --state-dir $S mp
done
