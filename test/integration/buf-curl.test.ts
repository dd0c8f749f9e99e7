/**
 * A real gRPC tool, `buf curl` (npm @bufbuild/buf), drives the daemon with
 * server reflection only — no proto files — as an operator would with
 * grpcurl: list services, describe them, call DeviceService.List, open a
 * session through the Connect stream and create a PD with its token; a
 * failed call shows its google.rpc.Status details.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { ROOT, spawnDaemon, waitFor, type Daemon } from './helpers.js';

const require = createRequire(import.meta.url);
const errorInfo = protobuf.loadSync(path.join(ROOT, 'proto/google/rpc/error_details.proto')).lookupType('google.rpc.ErrorInfo');
const BUF = path.join(path.dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');

function bufCurl(socket: string, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(BUF, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--unix-socket', socket, ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(stdin);
  });
}

describe('buf curl with reflection only', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await spawnDaemon('bufcurl');
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('lists every service, the health service included, by its full name', async () => {
    const r = await bufCurl(d.socket, ['--list-services', 'http://localhost']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      'grpc.health.v1.Health',
      'rdmabroker.v1.AdminService',
      'rdmabroker.v1.DeviceService',
      'rdmabroker.v1.InspectionService',
      'rdmabroker.v1.ObjectService',
      'rdmabroker.v1.SessionService',
    ]);
  });

  it('describes ObjectService (every method resolves its messages)', async () => {
    const r = await bufCurl(d.socket, ['--list-methods', 'http://localhost']);
    expect(r.stderr).toBe('');
    const methods = r.stdout.trim().split('\n');
    for (const m of ['Create', 'Query', 'Modify', 'Destroy', 'Invoke', 'Batch']) expect(methods).toContain(`rdmabroker.v1.ObjectService/${m}`);
    expect(methods).toContain('rdmabroker.v1.SessionService/Connect');
  });

  it('calls DeviceService.List and the health check', async () => {
    const r = await bufCurl(d.socket, ['http://localhost/rdmabroker.v1.DeviceService/List']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { devices: { name: string; state: string }[] };
    expect(out.devices.map((x) => x.name)).toEqual(['sim0']);
    expect(out.devices[0]?.state).toBe('live');
    const h = await bufCurl(d.socket, ['http://localhost/grpc.health.v1.Health/Check']);
    expect(JSON.parse(h.stdout)).toEqual({ status: 'SERVING' });
  });

  it('opens a session through Connect and creates a PD with its token', async () => {
    // The session lives as long as the Connect stream: keep buf curl's stdin
    // open while the PD is created, then end it and see the PD released.
    const connect: ChildProcessWithoutNullStreams = spawn(BUF, [
      'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--unix-socket', d.socket, '--data', '@-',
      'http://localhost/rdmabroker.v1.SessionService/Connect',
    ], { stdio: 'pipe' });
    let out = '';
    connect.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const closed = new Promise<number | null>((r) => connect.on('close', r));
    try {
      connect.stdin.write(`${JSON.stringify({ open: { name: 'buf-curl' } })}\n`);
      const opened = await waitFor(() => {
        const m = /"token":\s*"([^"]+)"/.exec(out);
        const id = /"sessionId":\s*"([^"]+)"/.exec(out);
        return m && id ? { token: m[1]!, id: id[1]! } : null;
      }, 15_000, 'SessionOpened from buf curl');
      const c = await bufCurl(d.socket, [
        '-H', `x-rdma-session: ${opened.token}`, '--data', JSON.stringify({ type: 'pd', device: 'sim0' }),
        'http://localhost/rdmabroker.v1.ObjectService/Create',
      ]);
      expect(c.stderr).toBe('');
      const pd = JSON.parse(c.stdout) as { object: { type: string; handle: string; session: string } };
      expect(pd.object.type).toBe('pd');
      expect(pd.object.session).toBe(opened.id);
      // A failure: buf curl reads grpc-status-details-bin and names its detail's type (google.rpc.ErrorInfo).
      const zero = await bufCurl(d.socket, [
        '-H', `x-rdma-session: ${opened.token}`, '--data', JSON.stringify({ type: 'mr', attrs: { pd: { handle: pd.object.handle }, length: { u64: '0' } } }),
        'http://localhost/rdmabroker.v1.ObjectService/Create',
      ]);
      expect(zero.code).not.toBe(0);
      const st = JSON.parse(zero.stderr) as { code: string; details: { type: string; value: string }[] };
      expect(st.code).toBe('invalid_argument');
      expect(st.details.map((x) => x.type)).toEqual(['google.rpc.ErrorInfo']);
      const info = errorInfo.toObject(errorInfo.decode(Buffer.from(st.details[0]!.value, 'base64')), { objects: true }) as { reason: string; metadata: Record<string, string> };
      expect(info.reason).toBe('INVALID_ATTR');
      expect(info.metadata.errno).toBe('22');
      const listed = await bufCurl(d.socket, ['--data', JSON.stringify({ filter: { session: opened.id } }), 'http://localhost/rdmabroker.v1.InspectionService/ListObjects']);
      expect(listed.stdout).toContain(pd.object.handle);
      connect.stdin.end();
      expect(await closed).toBe(0);
      // The stream ended: the session's PD is destroyed.
      await waitFor(async () => {
        const l = await bufCurl(d.socket, ['--data', JSON.stringify({ filter: { session: opened.id } }), 'http://localhost/rdmabroker.v1.InspectionService/ListObjects']);
        return !l.stdout.includes(pd.object.handle);
      }, 10_000, 'the PD released after the Connect stream ended');
    } finally {
      connect.kill('SIGKILL');
    }
  });
});
