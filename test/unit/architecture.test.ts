/**
 * The import direction of src/, for every folder of it:
 *
 *   cli, examples -> client            (the client library: nothing of the daemon)
 *   daemon -> rpc, fdpass, k8s, lane -> core -> verbs (one backend never imports another)
 *   (the adapters may use sys for their sockets)
 *   wire (codecs and formats both sides share) and sys (libc) stand alone.
 *
 * The adapters (rpc, fdpass, k8s, lane) reach the device only through the
 * core; fdpass does not go through rpc; only the daemon composes them. A
 * folder of src/ without a rule fails the test, so a new area has to say
 * where it stands.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

const ALL = ['cli', 'client', 'core', 'daemon', 'examples', 'fdpass', 'k8s', 'lane', 'rpc', 'sys', 'verbs', 'wire'];
/** Everything except the named areas. */
const allBut = (...allowed: string[]): string[] => ALL.filter((a) => !allowed.includes(a));

/** What each area (or sub-area, by path prefix) of src/ may not import: other areas of src/ by name, and packages by prefix. */
const RULES: Record<string, { areas: string[]; packages: string[] }> = {
  core: { areas: allBut('core', 'verbs', 'wire'), packages: ['@grpc/'] },
  verbs: { areas: allBut('verbs', 'sys', 'wire'), packages: ['@grpc/'] },
  'verbs/sim': { areas: [...allBut('verbs', 'sys', 'wire'), 'verbs/ibverbs'], packages: ['@grpc/', 'koffi'] },
  'verbs/ibverbs': { areas: [...allBut('verbs', 'sys', 'wire'), 'verbs/sim'], packages: ['@grpc/'] },
  sys: { areas: allBut('sys'), packages: ['@grpc/'] },
  wire: { areas: allBut('wire'), packages: [] },
  // rpc reads its unix sockets' peer credentials through libc (src/sys).
  rpc: { areas: allBut('rpc', 'core', 'sys', 'wire'), packages: [] },
  fdpass: { areas: allBut('fdpass', 'core', 'sys', 'wire'), packages: ['@grpc/'] },
  k8s: { areas: allBut('k8s', 'rpc', 'core', 'sys', 'wire'), packages: [] },
  // The lane's ops are fd-channel ops: it parses their arguments as the channel does.
  lane: { areas: allBut('lane', 'fdpass', 'core', 'sys', 'wire'), packages: ['@grpc/'] },
  client: { areas: allBut('client', 'sys', 'wire'), packages: [] },
  cli: { areas: allBut('cli', 'client', 'wire'), packages: [] },
  examples: { areas: allBut('examples', 'client', 'wire'), packages: [] },
  daemon: { areas: ['cli', 'client', 'examples'], packages: [] },
};

/** The rule for a file: its longest matching area prefix. */
function ruleOf(file: string): { name: string; rule: { areas: string[]; packages: string[] } } | null {
  const parts = file.split('/');
  for (let n = parts.length - 1; n >= 1; n--) {
    const name = parts.slice(0, n).join('/');
    const rule = RULES[name];
    if (rule) return { name, rule };
  }
  return null;
}

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
    const r = ruleOf(file);
    if (!r) continue;
    if (spec.startsWith('.')) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      if (target.startsWith('..')) {
        out.push(`${file} imports ${spec} (outside src/)`);
        continue;
      }
      // A sub-area rule (verbs/sim) names other sub-areas by path prefix.
      const hit = r.rule.areas.find((a) => target === a || target.startsWith(`${a}/`));
      if (hit) out.push(`${file} imports ${spec} (${r.name} may not import src/${hit})`);
    } else {
      const pkg = r.rule.packages.find((p) => spec.startsWith(p));
      if (pkg) out.push(`${file} imports ${spec} (${r.name} may not import ${pkg}*)`);
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

  it('the adapter, client and backend rules', () => {
    expect(violations([
      { file: 'rpc/status.ts', spec: '../verbs/backend.js' },
      { file: 'fdpass/server.ts', spec: '../rpc/status.js' },
      { file: 'fdpass/server.ts', spec: '../core/status.js' },
      { file: 'verbs/ibverbs/codec.ts', spec: '../sim/gid.js' },
      { file: 'verbs/ibverbs/codec.ts', spec: '../backend.js' },
      { file: 'verbs/sim/context.ts', spec: '../ibverbs/binding.js' },
      { file: 'verbs/sim/context.ts', spec: '../../wire/gid.js' },
      { file: 'client/fd-channel.ts', spec: '../fdpass/server.js' },
      { file: 'client/fd-channel.ts', spec: '../sys/packet-socket.js' },
      { file: 'cli/main.ts', spec: '../core/broker.js' },
      { file: 'k8s/plugin.ts', spec: '../rpc/status.js' },
      { file: 'k8s/plugin.ts', spec: '../verbs/backend.js' },
      { file: 'daemon/main.ts', spec: '../verbs/sim/index.js' },
      { file: 'daemon/main.ts', spec: '../client/index.js' },
    ])).toEqual([
      'rpc/status.ts imports ../verbs/backend.js (rpc may not import src/verbs)',
      'fdpass/server.ts imports ../rpc/status.js (fdpass may not import src/rpc)',
      'verbs/ibverbs/codec.ts imports ../sim/gid.js (verbs/ibverbs may not import src/verbs/sim)',
      'verbs/sim/context.ts imports ../ibverbs/binding.js (verbs/sim may not import src/verbs/ibverbs)',
      'client/fd-channel.ts imports ../fdpass/server.js (client may not import src/fdpass)',
      'cli/main.ts imports ../core/broker.js (cli may not import src/core)',
      'k8s/plugin.ts imports ../verbs/backend.js (k8s may not import src/verbs)',
      'daemon/main.ts imports ../client/index.js (daemon may not import src/client)',
    ]);
  });

  it('every folder of src/ has a rule', () => {
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((f) => !RULES[f])).toEqual([]);
    for (const b of fs.readdirSync(path.join(SRC, 'verbs'), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      expect(RULES[`verbs/${b.name}`], `verbs/${b.name} (a backend) needs a rule`).toBeDefined();
    }
  });

  it('src/ keeps to it', () => {
    const all = srcImports();
    // The scan found the real layering (it is not vacuous).
    expect(all.some((i) => i.file.startsWith('core/') && i.spec.endsWith('verbs/backend.js'))).toBe(true);
    expect(all.some((i) => i.file.startsWith('rpc/') && i.spec === '@grpc/grpc-js')).toBe(true);
    expect(violations(all)).toEqual([]);
  });
});
