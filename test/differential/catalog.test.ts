/**
 * The catalog's text form (cases.txt, read by recorder.c) is the one
 * rendered from catalog.ts, and the catalog covers every area with enough
 * cases; few cases are exempt from the kernel's answers, each with a reason. RDMA_BROKER_UPDATE_CATALOG=1 rewrites cases.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AREAS, buildCatalog, renderCatalog } from './catalog.js';
import { diff, loadFixture, withBrokerAnswers } from './compare.js';

const FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases.txt');

describe('differential catalog', () => {
  const cases = buildCatalog();
  it('cases.txt is rendered from catalog.ts', () => {
    const text = renderCatalog(cases);
    if (process.env.RDMA_BROKER_UPDATE_CATALOG === '1') fs.writeFileSync(FILE, text);
    expect(fs.readFileSync(FILE, 'utf8') === text, 'test/differential/cases.txt is stale: RDMA_BROKER_UPDATE_CATALOG=1 npx vitest run test/differential/catalog.test.ts').toBe(true);
  });
  it('has at least 300 cases over every area, fewer than 5% with undefined fields or deliberate broker answers, each with its reason', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    for (const a of AREAS) expect(cases.filter((c) => c.area === a).length, a).toBeGreaterThanOrEqual(15);
    expect(cases.filter((c) => c.undefinedFields?.length || c.broker).length).toBeLessThan(cases.length * 0.05);
    for (const c of cases) for (const u of c.undefinedFields ?? []) expect(u.reason.length, `${c.name}: ${u.path}`).toBeGreaterThan(10);
    for (const c of cases) if (c.broker) expect(c.broker.reason.length, c.name).toBeGreaterThan(10);
  });
  it('every deliberate broker answer names places of the kernel\'s record and differs from the kernel there', () => {
    const { answers } = loadFixture();
    for (const c of cases.filter((k) => k.broker)) {
      const kernel = answers.get(c.name);
      expect(kernel, c.name).toBeDefined();
      expect(diff(kernel!.r, withBrokerAnswers(kernel!, c.broker!.answers).r, 'r'), c.name).not.toEqual([]);
    }
  });
});
