#!/bin/sh
# In the test host (docs/bench/memory-breakdown.md): two VMs as in memprobe.sh; each VM process's Rss and
# Pss (file pages shared between the two VM processes and their netds).
set -u
E=$PWD/bin/ember
O=$PWD/guest-images/out
S=/tmp/memprobe-state
mkdir -p /tmp/mp
for n in a b; do
  cp $O/rootfs.ext4 /tmp/mp/$n.ext4
  $E start --state-dir $S --name $n --kernel $O/bzImage --initrd $O/initramfs.cpio.gz --cpus 1 --memory 256M \
     --disk /tmp/mp/$n.ext4 --net user >/dev/null || exit 1
done
for n in a b; do
  i=0; until $E exec --state-dir $S $n -- true 2>/dev/null; do i=$((i+1)); [ $i -gt 60 ] && break; sleep 1; done
done
sleep 3
for n in a b; do
  pid=$(cat $S/$n/pid)
  echo "== VM $n pid $pid"
  grep -E '^(Rss|Pss|Pss_Anon|Pss_File|Anonymous)' /proc/$pid/smaps_rollup
done
for p in /proc/[0-9]*; do
  if tr '\0' ' ' < $p/cmdline 2>/dev/null | grep -q ' netd'; then echo "== netd ${p#/proc/}"; grep -E '^(Rss|Pss|Anonymous)' $p/smaps_rollup; fi
done
for n in a b; do $E rm --force --state-dir $S $n; done
