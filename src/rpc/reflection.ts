/**
 * Server reflection with fully qualified type names, for grpcurl-style tools.
 *
 * proto-loader builds its file descriptors with protobufjs, which writes type
 * references relative to the referring message (`Attrs`, not
 * `.rdmabroker.v1.Attrs`). Reflection clients such as `buf curl` resolve
 * references strictly and fail every describe and call on such descriptors,
 * so the descriptors are rewritten here, once at start, with every field type,
 * extendee and method input/output resolved by protobuf's scoping rules
 * (innermost scope first) and written absolute. The health service's
 * descriptors are added, so reflection lists `grpc.health.v1.Health` too.
 */
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type * as Descriptor from 'protobufjs/ext/descriptor/index.js';

const require = createRequire(import.meta.url);
const descriptor = require('protobufjs/ext/descriptor/index.js') as typeof Descriptor;

type FileProto = Descriptor.IFileDescriptorProto;
type MessageProto = Descriptor.IDescriptorProto;

/** The health service's package definition, loaded from the proto grpc-health-check ships. */
function healthDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(healthProtoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}

/** Every message and enum name a file declares, fully qualified without the leading dot, mapped to the file. */
function collectSymbols(file: FileProto, into: Map<string, string>): void {
  const pkg = file.package ? `${file.package}.` : '';
  const owner = file.name ?? '';
  const walk = (prefix: string, msgs: readonly MessageProto[] | undefined): void => {
    for (const m of msgs ?? []) {
      const name = `${prefix}${m.name ?? ''}`;
      into.set(name, owner);
      for (const e of m.enumType ?? []) into.set(`${name}.${e.name ?? ''}`, owner);
      walk(`${name}.`, m.nestedType);
    }
  };
  walk(pkg, file.messageType);
  for (const e of file.enumType ?? []) into.set(`${pkg}${e.name ?? ''}`, owner);
}

/** Resolves a type reference seen in `scope` (a dotted name) to `.pkg.Type`, as protoc does. */
function qualify(ref: string | undefined, scope: string, symbols: ReadonlyMap<string, string>): string | undefined {
  if (!ref || ref.startsWith('.')) return ref;
  let s = scope;
  for (;;) {
    const candidate = s ? `${s}.${ref}` : ref;
    if (symbols.has(candidate)) return `.${candidate}`;
    if (!s) return ref;
    const dot = s.lastIndexOf('.');
    s = dot < 0 ? '' : s.slice(0, dot);
  }
}

/** protoc's name for the entry type of map field `field`: `port_attrs` → `PortAttrsEntry`. */
function mapEntryName(field: string): string {
  return `${field.split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('')}Entry`;
}

/**
 * protobufjs names a map field's entry type after the field (`Attrs` for
 * `attrs`), where protoc (and every strict descriptor consumer) expects
 * `AttrsEntry`; the short name also shadows a top-level message of the same
 * name. The entries are renamed and their fields pointed at them absolutely,
 * before any other reference is resolved.
 */
function renameMapEntries(name: string, m: MessageProto): void {
  for (const nested of m.nestedType ?? []) {
    if (!nested.options?.mapEntry) continue;
    const field = (m.field ?? []).find((f) => f.typeName === nested.name && mapEntryName(f.name ?? '').toLowerCase() === `${nested.name ?? ''}entry`.toLowerCase());
    if (!field?.name) continue;
    nested.name = mapEntryName(field.name);
    field.typeName = `.${name}.${nested.name}`;
  }
}

/**
 * Qualifies every reference of a file, and declares the files they point
 * into as its dependencies: proto-loader writes one file per package with no
 * dependencies, and a strict consumer (buf curl) refuses a file whose
 * references (rdmabroker.v1's to google.rpc.ErrorInfo) reach into a file it
 * does not import.
 */
function rewriteFile(file: FileProto, symbols: ReadonlyMap<string, string>): void {
  const pkg = file.package ?? '';
  const deps = new Set(file.dependency ?? []);
  const q = (ref: string | undefined, scope: string): string | undefined => {
    const r = qualify(ref, scope, symbols);
    const owner = r?.startsWith('.') ? symbols.get(r.slice(1)) : undefined;
    if (owner && owner !== file.name) deps.add(owner);
    return r;
  };
  const walk = (scope: string, msgs: readonly MessageProto[] | undefined): void => {
    for (const m of msgs ?? []) {
      const name = scope ? `${scope}.${m.name ?? ''}` : (m.name ?? '');
      for (const f of [...(m.field ?? []), ...(m.extension ?? [])]) {
        f.typeName = q(f.typeName, name);
        f.extendee = q(f.extendee, name);
      }
      walk(name, m.nestedType);
    }
  };
  walk(pkg, file.messageType);
  for (const f of file.extension ?? []) {
    f.typeName = q(f.typeName, pkg);
    f.extendee = q(f.extendee, pkg);
  }
  for (const svc of file.service ?? []) {
    for (const m of svc.method ?? []) {
      m.inputType = q(m.inputType, pkg);
      m.outputType = q(m.outputType, pkg);
    }
  }
  file.dependency = [...deps];
}

/**
 * A copy of the package definitions (the API's and the health service's)
 * whose file descriptors carry fully qualified names. Only the
 * `fileDescriptorProtos` of each entry change.
 */
export function reflectionDefinition(api: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  const merged: protoLoader.PackageDefinition = { ...healthDefinition(), ...api };
  const decoded = new Map<string, FileProto>();
  // Every entry of a load shares the same buffers: decode each buffer once.
  const nameOf = new Map<Buffer, string>();
  for (const entry of Object.values(merged)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    for (const bin of protos ?? []) {
      if (nameOf.has(bin)) continue;
      const file = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bin)) as FileProto;
      nameOf.set(bin, file.name ?? '');
      if (file.name && !decoded.has(file.name)) decoded.set(file.name, file);
    }
  }
  for (const f of decoded.values()) {
    const pkg = f.package ?? '';
    const walk = (scope: string, msgs: readonly MessageProto[] | undefined): void => {
      for (const m of msgs ?? []) {
        const name = scope ? `${scope}.${m.name ?? ''}` : (m.name ?? '');
        renameMapEntries(name, m);
        walk(name, m.nestedType);
      }
    };
    walk(pkg, f.messageType);
  }
  const symbols = new Map<string, string>();
  for (const f of decoded.values()) collectSymbols(f, symbols);
  const encoded = new Map<string, Buffer>();
  for (const [name, f] of decoded) {
    rewriteFile(f, symbols);
    encoded.set(name, Buffer.from(descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject(f)).finish()));
  }
  const out: protoLoader.PackageDefinition = {};
  for (const [key, entry] of Object.entries(merged)) {
    const protos = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    if (!protos) {
      out[key] = entry;
      continue;
    }
    const files = protos.map((bin) => encoded.get(nameOf.get(bin) ?? '') ?? bin);
    out[key] = { ...entry, fileDescriptorProtos: files } as typeof entry;
  }
  return out;
}

/** Adds reflection (v1 and v1alpha) for the API and the health service to a server. */
export function addReflection(server: grpc.Server, api: protoLoader.PackageDefinition): void {
  new ReflectionService(reflectionDefinition(api)).addToServer(server);
}
