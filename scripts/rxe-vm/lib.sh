# Shared settings of the soft-RoCE VM scripts (sourced, not run).
# shellcheck shell=bash
RXE_VM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RXE_VM_CACHE="${RXE_VM_CACHE:-$RXE_VM_ROOT/.cache/rxe-vm}"

# Debian packages the host needs: qemu and the initramfs tools, and rdma-core's
# user space, which the guest uses through the 9p share of the host's root.
RXE_VM_PKGS=(qemu-system-x86 busybox-static kmod cpio iproute2 xz-utils zstd
  libibverbs1 ibverbs-providers libibverbs-dev ibverbs-utils rdma-core perftest rdmacm-utils)

# Modules loaded in the guest (their dependencies are added from modules.dep).
# The optional ones are loaded when the kernel has them as modules.
RXE_VM_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  9pnet 9pnet_virtio netfs fscache 9p udp_tunnel ip6_udp_tunnel ib_core ib_uverbs rdma_rxe dummy
  configfs ib_cm iw_cm rdma_cm rdma_ucm)
RXE_VM_OPTIONAL_MODULES=(crc32_generic crc32_pclmul crc32c_generic crc32c_intel)

rxe_vm_log() { echo "rxe-vm: $*" >&2; }
rxe_vm_die() { echo "rxe-vm: error: $*" >&2; exit 1; }
