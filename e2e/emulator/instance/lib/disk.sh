# shellcheck shell=sh
# The emulated instance's root disk, shared by the stand-ins for findmnt, lsblk (util-linux),
# growpart (cloud-utils), resize2fs (e2fsprogs) and df (coreutils); sourced, not run.
#
# It is the disk of Ubuntu's EC2 images on a Nitro instance: EBS shows as the NVMe disk
# /dev/nvme0n1, GPT-partitioned, with the root file system (ext4) on partition 1,
# /dev/nvme0n1p1, which starts at sector 227328 (partitions 14 and 15, BIOS boot and EFI,
# come first) and, once grown, ends where the disk ends, short of GPT's backup header.
#
# Its sizes live in $EMU_EBS_DIR (default /var/lib/emu-ebs, on the instance's own disk; a
# light instance keeps them in its directory), in GiB:
#   size-gib       the EBS volume's size now: the front writes it when EC2 accepts a
#                  ModifyVolume of the instance's root volume (e2e/emulator/state-rules.ts);
#   original-gib   its size before the first such ModifyVolume, written once by the front;
#   partition-gib  the disk size partition 1 was last grown to (growpart);
#   fs-gib         the partition size the file system was last grown to (resize2fs).
# With none of them (no ModifyVolume yet) the partition and the file system fill the volume,
# as cloud-init's growpart left them at first boot, and no size is known.
# growpart and resize2fs append each call to $EMU_EBS_DIR/grow.calls: one line per call,
# the command's name and then its arguments, separated by tabs.

EBS_DIR=${EMU_EBS_DIR:-/var/lib/emu-ebs}
# shellcheck disable=SC2034 # used by the stand-ins that source this
ROOT_DISK=/dev/nvme0n1
# shellcheck disable=SC2034
ROOT_PART=/dev/nvme0n1p1
ROOT_PART_START=227328 # in 512-byte sectors
# shellcheck disable=SC2034
ROOT_FSTYPE=ext4

# disk_read NAME: the GiB in $EBS_DIR/NAME, or nothing.
disk_read() {
  [ -f "$EBS_DIR/$1" ] && tr -dc '0-9' <"$EBS_DIR/$1"
}

# The volume's size, what partition 1 and what the file system span (GiB; empty if unknown).
disk_volume_gib() { disk_read size-gib; }
disk_partition_gib() {
  disk_read partition-gib || disk_read original-gib || disk_read size-gib
}
disk_fs_gib() {
  disk_read fs-gib || disk_read original-gib || disk_read size-gib
}

# Partition 1 filling a disk of $1 GiB: its size in sectors. It ends at sector N - 34 of the
# disk's N (growpart leaves the last 33 to GPT's backup header).
disk_part_sectors() {
  echo $(($1 * 2097152 - 33 - ROOT_PART_START))
}

# disk_record NAME ARGS...: appends the call to grow.calls.
disk_record() {
  mkdir -p "$EBS_DIR"
  line=$1
  shift
  for arg in "$@"; do line="$line	$arg"; done
  printf '%s\n' "$line" >>"$EBS_DIR/grow.calls"
}

# disk_write NAME GIB
disk_write() {
  mkdir -p "$EBS_DIR" && printf '%s\n' "$2" >"$EBS_DIR/$1"
}

# Before any ModifyVolume no size is known: the root file system is then this machine's (a
# real instance's root is an overlay over it), as the real df reports it, in 512-byte sectors.
disk_host_sectors() {
  /usr/bin/df -B512 --output=size / | tail -n 1 | tr -dc '0-9'
}

# The ext4 file system's size in 4 KiB blocks when partition 1 fills a disk of $1 GiB.
disk_fs_blocks() {
  echo $(($(disk_part_sectors "$1") / 8))
}
