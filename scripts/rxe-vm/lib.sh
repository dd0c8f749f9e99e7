# Shared settings of the soft-RoCE VM scripts (sourced, not run).
# shellcheck shell=bash
RXE_VM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RXE_VM_CACHE="${RXE_VM_CACHE:-$RXE_VM_ROOT/.cache/rxe-vm}"

# Debian packages the host needs: qemu and the initramfs tools, and rdma-core's
# user space, which the guest uses through the 9p share of the host's root.
RXE_VM_PKGS=(qemu-system-x86 busybox-static kmod cpio iproute2 xz-utils zstd
  libibverbs1 ibverbs-providers libibverbs-dev ibverbs-utils rdma-core perftest rdmacm-utils)

# Modules loaded in the guest, with their dependencies from modules.dep. The
# required ones must be modules or built in; the rest (the other modules of
# the recipe, rdma_cm, and crc32 for rxe's ICRC) are loaded when this
# kernel has them as modules (e.g. fscache is part of netfs in newer kernels).
RXE_VM_MODULES=(virtio_pci 9pnet_virtio 9p ib_core ib_uverbs rdma_rxe dummy)
RXE_VM_OPTIONAL_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev 9pnet netfs fscache
  udp_tunnel ip6_udp_tunnel configfs ib_cm iw_cm rdma_cm rdma_ucm
  crc32_generic crc32_pclmul crc32c_generic crc32c_intel)

rxe_vm_log() { echo "rxe-vm: $*" >&2; }
rxe_vm_die() { echo "rxe-vm: error: $*" >&2; exit 1; }
