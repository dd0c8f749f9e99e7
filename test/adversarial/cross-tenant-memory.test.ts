/**
 * Issue 9, point 1 on the simulated device: no session may read another
 * session's or tenant's MR bytes through any path that takes a local
 * address (inline sends, SGEs, receive buffers, window binds, MR reads,
 * Batch steps, fd-channel MRs); each attempt answers INVALID_ARGUMENT with
 * errno 22 and posts nothing, and the daemon process lives on. The same
 * cases run on rxe0 in test/rxe/cross-tenant-memory.test.ts.
 */
import { defineCrossTenantMemory, tenantsDaemon } from './cross-tenant-memory-cases.js';

defineCrossTenantMemory('sim', tenantsDaemon('xmem', { backend: 'sim', device: 'sim0' }));
