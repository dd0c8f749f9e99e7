/**
 * import_device over the fd channel, on a device that supports import: the
 * sim wrapped to report supportsImport and to expose a command fd and kernel
 * handles, as the libibverbs backend does on mlx5 (no such NIC here).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Broker } from '../../../src/core/broker.js';
import { FdChannel, FdChannelError } from '../../../src/client/fd-channel.js';
import { FdChannelServer } from '../../../src/fdpass/server.js';
import * as libc from '../../../src/sys/libc.js';
import type { MrRef, PdRef } from '../../../src/verbs/abi.js';
import { HandleValue } from '../../../src/wire/values.js';
import { startBroker, type DeviceShape, type TestBroker } from '../core/fixture.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-import-'));
const cmd = libc.pipe2(libc.O_CLOEXEC)!;
let broker: Broker;
let server: FdChannelServer;

/** sim0 and sim1 as import-capable devices: supportsImport, a command fd, kernel handles. */
const importable: DeviceShape = {
  replace: (t) => ({
    capabilities: () => ({ ...t.capabilities(), supportsImport: true }),
    commandFd: () => cmd[0],
    kernelHandle: (ref: PdRef | MrRef) => 1000 + (ref.tag % 1000),
  }),
};

let open: TestBroker['open'];

beforeAll(async () => {
  const tb = await startBroker({ devices: [importable, importable] });
  broker = tb.broker;
  open = (name) => tb.open(name, { tenant: 'default', leaseMs: 0 });
  server = new FdChannelServer({ broker, log: pino({ level: 'silent' }) });
  server.listen(path.join(dir, 'fd.sock'));
});
afterAll(async () => {
  server?.close();
  await broker?.shutdown();
  libc.close(cmd[0]);
  libc.close(cmd[1]);
  fs.rmSync(dir, { recursive: true, force: true });
});

it('passes the tenant context\'s command fd and the kernel handles of the PDs and MRs named', async () => {
  const s = open('importer');
  const other = open('other');
  const pd = await broker.create(s, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
  const mr = await broker.create(s, { type: 'mr', device: '', attrs: { pd: new HandleValue(pd.handle), length: 4096n }, userHandle: '0' });
  const ch = await broker.create(s, { type: 'comp_channel', device: 'sim0', attrs: {}, userHandle: '0' });
  const theirs = await broker.create(other, { type: 'pd', device: 'sim0', attrs: {}, userHandle: '0' });
  const c = await FdChannel.connect(path.join(dir, 'fd.sock'), broker.sessions.issueFdToken(s));
  const r = await c.importDevice('sim0', [pd.handle, mr.handle]);
  expect(fs.readlinkSync(`/proc/self/fd/${r.fd}`)).toBe(fs.readlinkSync(`/proc/self/fd/${cmd[0]}`));
  expect(r.objects).toEqual([
    { handle: pd.handle, type: 'pd', kernelHandle: 1000 + (pd.handle % 1000) },
    { handle: mr.handle, type: 'mr', kernelHandle: 1000 + (mr.handle % 1000) },
  ]);
  libc.close(r.fd);
  const wrongType = await c.importDevice('sim0', [ch.handle]).catch((e: unknown) => e);
  expect((wrongType as FdChannelError).statusName).toBe('INVALID_ARGUMENT');
  const notMine = await c.importDevice('sim0', [theirs.handle]).catch((e: unknown) => e);
  expect((notMine as FdChannelError).statusName).toBe('NOT_FOUND');
  // A handle of sim0 imported into sim1's context: the mixed-device refusal every verb gives (src/core/errors.ts).
  const elsewhere = await c.importDevice('sim1', [pd.handle]).catch((e: unknown) => e);
  const { statusName, details, attribute } = elsewhere as FdChannelError;
  expect({ statusName, details, attribute }).toStrictEqual({
    statusName: 'INVALID_ARGUMENT', attribute: 'import.handles[0]',
    details: `import: objects on different devices: pd ${pd.handle} (handles[0]) is on sim0, the request names sim1`,
  });
  const noDevice = await c.importDevice('sim9').catch((e: unknown) => e);
  expect((noDevice as FdChannelError).statusName).toBe('NOT_FOUND');
  c.close();
});
