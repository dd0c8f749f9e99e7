/**
 * The backend conformance suite (test/conformance/suite.ts, the same cases
 * the simulated device passes) against the libibverbs backend on the VM's
 * soft-RoCE device. Skipped where there is no uverbs device.
 */
import pino from 'pino';
import { createIbverbsBackend } from '../../src/verbs/ibverbs/index.js';
import { defineConformance } from '../conformance/suite.js';
import { describeRxe, RXE_DEVICE } from './vm.js';

describeRxe('libibverbs backend on soft-RoCE', () => {
  defineConformance('ibverbs', async () => createIbverbsBackend({ log: pino({ level: 'warn' }) }), { device: RXE_DEVICE });
});
