/**
 * Prometheus metrics (`--metrics-listen HOST:PORT`, `GET /metrics`). Values
 * are read from the broker's tables at scrape time, so they are exactly what
 * the accounting RPC and the inspection listings say at that moment.
 * docs/tenants.md lists the metrics.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Broker } from '../core/broker.js';
import { quotaToMap, type TenantDirectory } from '../core/tenants.js';

const P = 'rdma_broker_';

/** Builds the metric registry over a broker and its tenant table. */
export function brokerMetrics(broker: Broker, tenants: TenantDirectory, withProcess = true): Registry {
  const reg = new Registry();
  if (withProcess) collectDefaultMetrics({ register: reg, prefix: P });
  const names = (): string[] => [...new Set([...tenants.list().map((t) => t.name), ...[...broker.accounting.tenants()].map(([n]) => n)])].sort();
  const usage = (n: string) => broker.accounting.of(n);
  const gauge = (name: string, help: string, labels: string[], fill: (g: Gauge) => void): void => {
    new Gauge({
      name: P + name, help, labelNames: labels, registers: [reg],
      collect() {
        this.reset();
        fill(this);
      },
    });
  };
  gauge('objects', 'Live objects per tenant and type.', ['tenant', 'type'], (g) => {
    for (const n of names()) for (const [type, t] of usage(n).types) g.set({ tenant: n, type }, t.current);
  });
  gauge('objects_high_water', 'Most live objects per tenant and type since the daemon started.', ['tenant', 'type'], (g) => {
    for (const n of names()) for (const [type, t] of usage(n).types) g.set({ tenant: n, type }, t.high);
  });
  gauge('tenant_objects', 'Live objects per tenant (all types; the hca_object quota counts these).', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).objects);
  });
  gauge('tenant_objects_high_water', 'Most live objects per tenant since the daemon started.', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).objectsHigh);
  });
  gauge('sessions', 'Live sessions per tenant (the hca_handle quota counts these).', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).sessions);
  });
  gauge('sessions_high_water', 'Most live sessions per tenant since the daemon started.', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).sessionsHigh);
  });
  gauge('registered_bytes', 'Bytes of registered memory (MRs) per tenant.', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).bytes);
  });
  gauge('registered_bytes_high_water', 'Most bytes of registered memory per tenant since the daemon started.', ['tenant'], (g) => {
    for (const n of names()) g.set({ tenant: n }, usage(n).bytesHigh);
  });
  gauge('quota_limit', 'Quota limits per tenant (resource: objects, sessions, registered_bytes or an object type); absent means no limit.', ['tenant', 'resource'], (g) => {
    for (const t of tenants.list()) for (const [resource, v] of Object.entries(quotaToMap(t.quota))) g.set({ tenant: t.name, resource }, v);
  });
  // Sessions opened on a Kubernetes pod's allocation socket carry the pod's names (src/k8s/).
  const podLabels = ['tenant', 'namespace', 'pod', 'container'];
  const perPod = (fn: (key: Record<string, string>, objects: number) => void): void => {
    for (const s of broker.sessions.all()) {
      const l = s.labels;
      if (!l || l.pod === undefined) continue;
      fn({ tenant: s.tenant, namespace: l.namespace ?? '', pod: l.pod, container: l.container ?? '' }, broker.registry.countOwned(s.id));
    }
  };
  gauge('pod_sessions', 'Live sessions per Kubernetes pod container (opened on its allocation socket).', podLabels, (g) => {
    perPod((k) => g.inc(k, 1));
  });
  gauge('pod_objects', 'Live objects per Kubernetes pod container (all types).', podLabels, (g) => {
    perPod((k, n) => g.inc(k, n));
  });
  gauge('devices', 'Devices served, by state (live, lost).', ['device', 'state'], (g) => {
    for (const d of broker.devices.list()) g.set({ device: d.name, state: d.state }, 1);
  });
  new Counter({
    name: `${P}verbs_total`, help: 'Verbs per tenant, object type, method and result ("ok" or a stable error code).',
    labelNames: ['tenant', 'type', 'method', 'result'], registers: [reg],
    collect() {
      this.reset();
      for (const n of names()) {
        for (const [key, results] of usage(n).verbs) {
          const dot = key.indexOf('.');
          for (const [result, count] of results) this.inc({ tenant: n, type: key.slice(0, dot), method: key.slice(dot + 1), result }, count);
        }
      }
    },
  });
  return reg;
}

/** Serves `reg` on HOST:PORT at /metrics; resolves with the server once it listens. */
export async function serveMetrics(reg: Registry, hostPort: string, log: Logger): Promise<http.Server> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(i + 1));
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || (url !== '/metrics' && url !== '/healthz')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    reg.metrics().then((text) => {
      res.writeHead(200, { 'content-type': reg.contentType }).end(text);
    }, (e: unknown) => {
      log.error({ err: e }, 'metrics collection failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  log.info({ metrics: `${hostPort}`, port: (server.address() as AddressInfo).port }, 'metrics serving on /metrics');
  return server;
}
