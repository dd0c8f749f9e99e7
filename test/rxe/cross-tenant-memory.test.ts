/**
 * Issue 9, point 1 on the kernel's soft-RoCE device: the cross-tenant memory
 * cases (test/adversarial/cross-tenant-memory-cases.ts) against
 * `rdma-brokerd --device ibverbs` serving rxe0, where an unchecked inline
 * send copies from the daemon's own address space: another tenant's MR
 * bytes, or address 4096 (SIGSEGV, the daemon and every tenant's objects
 * gone). Each attempt must answer INVALID_ARGUMENT / errno 22, post nothing,
 * and leave the daemon process running.
 */
import { defineCrossTenantMemory, tenantsDaemon } from '../adversarial/cross-tenant-memory-cases.js';
import { RXE_DEVICE, describeRxe } from './vm.js';

describeRxe('rdma-brokerd --device ibverbs on rxe0', () => {
  defineCrossTenantMemory(RXE_DEVICE, tenantsDaemon('xmem-rxe', { backend: 'ibverbs', device: RXE_DEVICE, readyMs: 300_000 }));
});
