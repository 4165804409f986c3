/**
 * Loads proto/sluice/controller/v1/controller.proto at runtime (proto-loader) rather than generating
 * code: the services are small, and the .proto stays the single source. The file is found by walking
 * up from this module, so it works from src/ (tsx), dist/src/ (built) and the container image.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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

interface ServiceCtor {
  new (address: string, credentials: grpc.ChannelCredentials): grpc.Client;
  service: grpc.ServiceDefinition;
}

let loaded: { Controller: ServiceCtor; Admin: ServiceCtor } | null = null;

export function controlPlaneServices(): { Controller: ServiceCtor; Admin: ServiceCtor } {
  if (loaded) return loaded;
  const def = protoLoader.loadSync(findProto(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    sluice: { controller: { v1: { Controller: ServiceCtor; Admin: ServiceCtor } } };
  };
  loaded = pkg.sluice.controller.v1;
  return loaded;
}

export interface PartitionStateMessage {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  partitionEpoch: number;
}
