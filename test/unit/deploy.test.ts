/**
 * deploy/ against the daemon: the DaemonSet's arguments parse as the
 * daemon's options, every path they name is mounted (the state directory at
 * the same path as on the host, since Allocate answers host paths), the
 * probes talk to the socket the daemon serves, the ConfigMap is a valid
 * config, the example pod asks for the resource the plugin registers, and the
 * Containerfile copies what exists. So deploy/ and the daemon cannot drift.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseOptions, type DaemonOptions } from '../../src/daemon/options.js';
import { parseConfigText, validateConfig } from '../../src/daemon/config.js';
import { KUBELET_DEFAULTS } from '../../src/k8s/plugin.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const K8S = path.join(ROOT, 'deploy/kubernetes');

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function docsOf(dir: string): Doc[] {
  const k = YAML.parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Doc;
  const out: Doc[] = [];
  for (const r of k.resources as string[]) {
    const p = path.join(dir, r);
    if (fs.statSync(p).isDirectory()) continue;
    for (const d of YAML.parseAllDocuments(fs.readFileSync(p, 'utf8'))) {
      expect(d.errors).toEqual([]);
      out.push(d.toJS() as Doc);
    }
  }
  return out;
}

const docs = docsOf(K8S);
const ds = docs.find((d) => d.kind === 'DaemonSet')!;
const pod = ds?.spec.template.spec;
const container = pod?.containers[0];

/** The host path mounted at a container path, or undefined. */
function hostPathAt(mountPath: string): string | undefined {
  const m = (container.volumeMounts as Doc[]).find((v) => v.mountPath === mountPath);
  if (!m) return undefined;
  return (pod.volumes as Doc[]).find((v) => v.name === m.name)?.hostPath?.path;
}

/** Whether a container path lies under one of the container's mounts. */
function mounted(p: string): boolean {
  return (container.volumeMounts as Doc[]).some((v) => p === v.mountPath || p.startsWith(`${v.mountPath}/`));
}

describe('deploy/kubernetes', () => {
  it('is a kustomize base of a Namespace, a ConfigMap and a DaemonSet whose files exist', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'DaemonSet', 'Namespace']);
    expect(container).toBeDefined();
  });

  it('the DaemonSet\'s arguments are the daemon\'s options, with every path mounted', () => {
    const opts = parseOptions(container.args as string[]) as DaemonOptions;
    expect(opts.kubelet).not.toBeNull();
    const k = opts.kubelet!;
    // The kubelet's directories at the kubelet's own paths.
    for (const sub of ['device-plugins', 'pod-resources']) {
      const p = path.join(k.kubeletDir, sub);
      expect(hostPathAt(p), p).toBe(p);
    }
    // Allocate hands the kubelet host paths under the state directory: the same path on both sides.
    expect(hostPathAt(k.stateDir)).toBe(k.stateDir);
    expect(hostPathAt('/dev/infiniband')).toBe('/dev/infiniband');
    expect(mounted(opts.socket)).toBe(true);
    expect(mounted(path.dirname(opts.auditLog!))).toBe(true);
    expect(opts.config && mounted(opts.config)).toBe(true);
    expect(k.resourceName).toBe(KUBELET_DEFAULTS.resourceName);
    expect(container.securityContext.capabilities.add).toContain('IPC_LOCK');
  });

  it('the probes run rdmactl against the daemon\'s socket', () => {
    const opts = parseOptions(container.args as string[]) as DaemonOptions;
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      const cmd = probe.exec.command as string[];
      expect(cmd[1]).toBe('/opt/rdma-broker/bin/rdmactl.js');
      expect(cmd[cmd.indexOf('--socket') + 1]).toBe(opts.socket);
    }
  });

  it('the ConfigMap holds a config the daemon accepts, at the path --config names', () => {
    const opts = parseOptions(container.args as string[]) as DaemonOptions;
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const mount = (container.volumeMounts as Doc[]).find((v) => opts.config!.startsWith(`${v.mountPath}/`))!;
    expect((pod.volumes as Doc[]).find((v) => v.name === mount.name)?.configMap?.name).toBe(cm.metadata.name);
    const key = path.basename(opts.config!);
    const cfg = validateConfig(parseConfigText(cm.data[key] as string, key));
    expect(cfg.kubernetes.namespaces.size).toBeGreaterThan(0);
    expect(Object.keys(cfg.kubernetes.template.quota.types ?? {}).length).toBeGreaterThan(0);
  });

  it('the example pod asks for one slot of the registered resource and runs the write example unprivileged', () => {
    const [ex] = docsOf(path.join(K8S, 'example'));
    const c = ex!.spec.containers[0];
    expect(c.resources.limits).toEqual({ [KUBELET_DEFAULTS.resourceName]: 1 });
    expect(c.command).toContain('/opt/rdma-broker/dist/examples/rdma-write.js');
    expect(ex!.spec.securityContext.runAsNonRoot).toBe(true);
    expect(JSON.stringify(ex)).not.toMatch(/infiniband|privileged|IPC_LOCK/);
  });
});

describe('deploy/container/Containerfile', () => {
  const text = fs.readFileSync(path.join(ROOT, 'deploy/container/Containerfile'), 'utf8');
  it('is Debian bookworm with Node 20 and rdma-core, installing only production dependencies', () => {
    expect(text).toMatch(/^FROM \S*node:20-bookworm\S*/m);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/libibverbs1/);
    expect(text).toMatch(/ibverbs-providers/);
  });
  it('copies only files that exist in the checkout', () => {
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(fs.existsSync(path.join(ROOT, src)), src).toBe(true);
    }
  });
});
