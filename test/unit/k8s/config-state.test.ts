/** The config's kubernetes section, the allocation state file and the pod-resources reading, as untrusted input. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/daemon/config.js';
import { parseOptions, UsageError } from '../../../src/daemon/options.js';
import { TenantDirectory } from '../../../src/core/tenants.js';
import { tenantForNamespace } from '../../../src/k8s/tenancy.js';
import { loadState, saveState } from '../../../src/k8s/state.js';
import { slotOwners } from '../../../src/k8s/pods.js';

const isSlot = (id: string): boolean => /^slot-\d+$/.test(id);

describe('config: kubernetes', () => {
  it('maps named namespaces to configured tenants and makes template tenants for the rest', () => {
    const cfg = validateConfig({
      tenants: [{ name: 'team-a', quotas: { qp: 4 } }],
      kubernetes: { namespaces: { 'ns-a': 'team-a' }, template: { quotas: { pd: 1 } } },
    });
    const dir = new TenantDirectory(cfg);
    expect(tenantForNamespace(cfg.kubernetes, dir, 'ns-a')).toBe('team-a');
    expect(tenantForNamespace(cfg.kubernetes, dir, 'ns-b')).toBe('k8s.ns-b');
    expect(dir.get('k8s.ns-b')).toMatchObject({ role: 'tenant', quota: { types: { pd: 1 } } });
    // A run-time quota stays until a refresh (a reload).
    dir.setQuota('k8s.ns-b', { types: { pd: 9 } });
    tenantForNamespace(cfg.kubernetes, dir, 'ns-b');
    expect(dir.quotaFor('k8s.ns-b')).toEqual({ types: { pd: 9 } });
    tenantForNamespace(cfg.kubernetes, dir, 'ns-b', true);
    expect(dir.quotaFor('k8s.ns-b')).toEqual({ types: { pd: 1 } });
    // Kept across a reload of the file.
    dir.replace(cfg);
    expect(dir.get('k8s.ns-b')).toBeDefined();
  });

  it('names the field of each mistake', () => {
    const bad: [unknown, RegExp][] = [
      [{ tenants: [], kubernetes: { namespaces: { 'ns-a': 'nobody' } } }, /kubernetes\.namespaces\.ns-a: no tenant named "nobody"/],
      [{ tenants: [], kubernetes: { namespaces: { 'Bad_NS': 'x' } } }, /kubernetes\.namespaces\.Bad_NS: not a Kubernetes namespace/],
      [{ tenants: [], kubernetes: { template: { role: 'admin' } } }, /kubernetes\.template\.role: only "tenant"/],
      [{ tenants: [], kubernetes: { template: { quotas: { qp: -1 } } } }, /kubernetes\.template\.quotas\.qp/],
      [{ tenants: [], kubernetes: { watch: true } }, /kubernetes\.watch: unknown field/],
      [{ tenants: [{ name: 'k8s.x' }] }, /tenants\[0\]\.name: names starting with "k8s\."/],
    ];
    for (const [doc, re] of bad) expect(() => validateConfig(doc), JSON.stringify(doc)).toThrow(re);
  });
});

describe('options: the device plugin', () => {
  it('parses, defaults and refuses', () => {
    const o = parseOptions(['--kubernetes']);
    expect(o).toMatchObject({ kubelet: { kubeletDir: '/var/lib/kubelet', resourceName: 'rdma-broker.io/session', slots: 64, stateDir: '/var/lib/rdma-broker', cdiDir: null } });
    expect(parseOptions(['--socket', '/tmp/x.sock'])).toMatchObject({ kubelet: null });
    expect(() => parseOptions(['--k8s-slots', '4'])).toThrow(UsageError);
    expect(() => parseOptions(['--kubernetes', '--k8s-slots', '0'])).toThrow(/--k8s-slots: expected 1\.\.4096/);
    expect(() => parseOptions(['--kubernetes', '--k8s-resource', 'no-slash'])).toThrow(/--k8s-resource: expected DOMAIN\/NAME/);
  });
});

describe('allocation state file', () => {
  const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'rb-k8s-state-'));

  it('round-trips and drops malformed entries with a reason', () => {
    const d = tmp();
    const f = path.join(d, 'state.json');
    const good = { id: 'a'.repeat(32), slots: ['slot-1'], created: 1, pod: { namespace: 'ns', name: 'p', container: 'c' }, tenant: 'k8s.ns' };
    saveState(f, 'r.io/s', [good]);
    expect(loadState(f, 'r.io/s', isSlot)).toEqual({ records: [good], problems: [] });
    const doc = JSON.parse(fs.readFileSync(f, 'utf8'));
    doc.allocations.push({ ...good, id: '../../etc' }, { ...good, id: 'b'.repeat(32), slots: ['slot-x'] }, { ...good, id: 'c'.repeat(32), pod: { namespace: '../x', name: 'p', container: 'c' } }, good);
    fs.writeFileSync(f, JSON.stringify(doc));
    const r = loadState(f, 'r.io/s', isSlot);
    expect(r.records).toEqual([good]);
    expect(r.problems).toHaveLength(4);
    fs.rmSync(d, { recursive: true });
  });

  it('refuses a symlinked or oversized state file and reads a missing one as empty', () => {
    const d = tmp();
    const f = path.join(d, 'state.json');
    expect(loadState(f, 'r', isSlot)).toEqual({ records: [], problems: [] });
    fs.writeFileSync(path.join(d, 'elsewhere'), '{}');
    fs.symlinkSync(path.join(d, 'elsewhere'), f);
    expect(loadState(f, 'r', isSlot).problems[0]).toMatch(/symlink/);
    fs.rmSync(f);
    fs.writeFileSync(f, 'x'.repeat(5 << 20));
    expect(loadState(f, 'r', isSlot).problems[0]).toMatch(/at most/);
    fs.rmSync(d, { recursive: true });
  });
});

describe('pod-resources answers', () => {
  it('keep only this resource\'s known slots, first owner wins', () => {
    const pod = (ns: string, name: string, resource: string, ids: string[]) => ({
      name, namespace: ns, cpu_ids: [], memory: [],
      containers: [{ name: 'c', cpu_ids: [], memory: [], dynamic_resources: [], devices: [{ resource_name: resource, device_ids: ids, topology: null }] }],
    });
    const owners = slotOwners({ pod_resources: [
      pod('a', 'p1', 'r.io/s', ['slot-1', 'bogus']),
      pod('b', 'p2', 'other.io/gpu', ['slot-2']),
      pod('c', 'p3', 'r.io/s', ['slot-1', 'slot-3']),
    ] }, 'r.io/s', isSlot);
    expect([...owners.entries()]).toEqual([
      ['slot-1', { namespace: 'a', name: 'p1', container: 'c' }],
      ['slot-3', { namespace: 'c', name: 'p3', container: 'c' }],
    ]);
  });
});
