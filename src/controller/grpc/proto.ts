/**
 * Loads proto/sluice/controller/v1/controller.proto at runtime (proto-loader), typed by the types
 * `npm run gen:proto` generates from the same file into ./generated (committed; CI checks they are
 * current). The .proto stays the single source: the loader reads it, the types describe what the
 * loader builds. The file is found by walking up from this module, so it works from src/ (tsx),
 * dist/src/ (built) and the container image.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/controller.js';

const REL = 'proto/sluice/controller/v1/controller.proto';

function findProto(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, REL);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`cannot find ${REL} above ${fileURLToPath(import.meta.url)}`);
}

/** The package's services and messages: client constructors with `.service` definitions. */
export type ControlPlanePackage = ProtoGrpcType['sluice']['controller']['v1'];

let loaded: ControlPlanePackage | null = null;

export function controlPlaneServices(): ControlPlanePackage {
  if (loaded) return loaded;
  // Keep these in step with OPTIONS in tools/proto-gen.ts: the generated types describe exactly them.
  const def = protoLoader.loadSync(findProto(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  // The one cast: loadPackageDefinition is untyped by design; ProtoGrpcType is its generated type.
  const pkg = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  loaded = pkg.sluice.controller.v1;
  return loaded;
}
