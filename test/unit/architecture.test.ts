/**
 * The import direction of src/: rpc/fdpass/daemon/cli/client -> core -> verbs.
 * core never sees gRPC (nor the adapters above it, nor libc); verbs never sees
 * core or anything above it. src/wire is the shared codec either side may
 * use; src/sys is the low-level libc layer under verbs and fdpass.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** What each area of src/ may not import: other areas of src/ by name, and packages by prefix. */
const RULES: Record<string, { areas: string[]; packages: string[] }> = {
  core: { areas: ['rpc', 'fdpass', 'daemon', 'cli', 'client', 'examples', 'sys', 'k8s'], packages: ['@grpc/'] },
  verbs: { areas: ['core', 'rpc', 'fdpass', 'daemon', 'cli', 'client', 'examples', 'k8s'], packages: ['@grpc/'] },
  // The Kubernetes integration sits beside the daemon: the daemon wires it in, never the other way.
  k8s: { areas: ['daemon', 'cli', 'client', 'examples'], packages: [] },
  sys: { areas: ['core', 'verbs', 'rpc', 'fdpass', 'daemon', 'cli', 'client', 'examples', 'wire', 'k8s'], packages: ['@grpc/'] },
  wire: { areas: ['core', 'verbs', 'rpc', 'fdpass', 'daemon', 'cli', 'client', 'examples', 'sys', 'k8s'], packages: [] },
};

interface Import {
  /** The importing file, relative to src/. */
  file: string;
  spec: string;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Every import, export-from, dynamic import() and require of a source text (comments and strings are not imports). */
export function importsOf(file: string, text: string): Import[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => ({ file, spec: f.fileName }));
}

/** The rule each import breaks, as "FILE imports SPEC (AREA may not import X)". */
export function violations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const { file, spec } of imports) {
    const area = file.split('/')[0]!;
    const rule = RULES[area];
    if (!rule) continue;
    if (spec.startsWith('.')) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      const to = target.split('/')[0]!;
      if (target.startsWith('..')) out.push(`${file} imports ${spec} (outside src/)`);
      else if (rule.areas.includes(to)) out.push(`${file} imports ${spec} (${area} may not import src/${to})`);
    } else {
      const pkg = rule.packages.find((p) => spec.startsWith(p));
      if (pkg) out.push(`${file} imports ${spec} (${area} may not import ${pkg}*)`);
    }
  }
  return out;
}

function srcImports(): Import[] {
  return tsFiles(SRC).flatMap((f) => importsOf(path.relative(SRC, f).split(path.sep).join('/'), fs.readFileSync(f, 'utf8')));
}

describe('import direction', () => {
  it('the checker sees every import form and flags each kind of violation', () => {
    const text = [
      "import { Broker } from '../core/broker.js';",
      "import type { Server } from '@grpc/grpc-js';",
      "export { x } from '../rpc/status.js';",
      "const m = await import('../fdpass/server.js');",
      "// import { y } from '../daemon/main.js';  (a comment is no import)",
      "const s = \"from '../cli/main.js'\";",
      "import { v } from '../wire/values.js';",
      "import * as libc from '../sys/libc.js';",
      "import { gid } from './sim/gid.js';",
    ].join('\n');
    expect(importsOf('verbs/x.ts', text).map((i) => i.spec)).toEqual([
      '../core/broker.js', '@grpc/grpc-js', '../rpc/status.js', '../fdpass/server.js', '../wire/values.js', '../sys/libc.js', './sim/gid.js',
    ]);
    expect(violations(importsOf('verbs/x.ts', text))).toEqual([
      'verbs/x.ts imports ../core/broker.js (verbs may not import src/core)',
      'verbs/x.ts imports @grpc/grpc-js (verbs may not import @grpc/*)',
      'verbs/x.ts imports ../rpc/status.js (verbs may not import src/rpc)',
      'verbs/x.ts imports ../fdpass/server.js (verbs may not import src/fdpass)',
    ]);
    expect(violations([
      { file: 'core/types/qp.ts', spec: '../../rpc/status.js' },
      { file: 'core/broker.ts', spec: '@grpc/grpc-js' },
      { file: 'core/broker.ts', spec: '../sys/libc.js' },
      { file: 'core/broker.ts', spec: '../wire/values.js' },
      { file: 'core/broker.ts', spec: '../verbs/backend.js' },
      { file: 'verbs/backend.ts', spec: '../core/broker.js' },
      { file: 'verbs/ibverbs/context.ts', spec: '../../sys/memory.js' },
      { file: 'sys/libc.ts', spec: '../verbs/backend.js' },
      { file: 'fdpass/server.ts', spec: '../sys/libc.js' },
      { file: 'rpc/server.ts', spec: '../core/broker.js' },
    ])).toEqual([
      'core/types/qp.ts imports ../../rpc/status.js (core may not import src/rpc)',
      'core/broker.ts imports @grpc/grpc-js (core may not import @grpc/*)',
      'core/broker.ts imports ../sys/libc.js (core may not import src/sys)',
      'verbs/backend.ts imports ../core/broker.js (verbs may not import src/core)',
      'sys/libc.ts imports ../verbs/backend.js (sys may not import src/verbs)',
    ]);
  });

  it('src/ keeps to it', () => {
    const all = srcImports();
    // The scan found the real layering (it is not vacuous).
    expect(all.some((i) => i.file.startsWith('core/') && i.spec.endsWith('verbs/backend.js'))).toBe(true);
    expect(all.some((i) => i.file.startsWith('rpc/') && i.spec === '@grpc/grpc-js')).toBe(true);
    expect(violations(all)).toEqual([]);
  });
});
