/**
 * The last step of `node.sh up`, run inside the node's network namespace: waits for the Node to be
 * Ready, applies the cluster add-ons (CoreDNS) with server-side apply, and waits until the cluster
 * DNS answers `kubernetes.default.svc.cluster.local` with the API Service's address.
 *
 *   node --import tsx node-ready.ts --kubeconfig FILE --node NAME --apply FILE.yaml --dns 10.96.0.10
 */
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { KubeClient, resourceFor, type AnyObject } from '../../src/operator/kube/client.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    node: { type: 'string' },
    apply: { type: 'string' },
    dns: { type: 'string' },
    timeout: { type: 'string', default: '180' },
  },
});
const client = KubeClient.load(values.kubeconfig);
const deadline = Date.now() + Number(values.timeout) * 1000;
const t0 = Date.now();
const say = (s: string) => console.error(`[node-ready +${Math.round((Date.now() - t0) / 1000)}s] ${s}`);

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>): Promise<T> {
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Node extends AnyObject {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}
interface Deployment extends AnyObject {
  status?: { availableReplicas?: number };
}

if (values.node) {
  const name = values.node;
  await until(`node ${name} Ready`, async () => {
    const n = await client.getOrNull<Node>(resourceFor('v1', 'Node'), undefined, name);
    return n?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  });
  say(`node ${name} Ready`);
}
if (values.apply) {
  for (const doc of parseAllDocuments(readFileSync(values.apply, 'utf8'))) {
    const obj = doc.toJS() as AnyObject | null;
    if (!obj) continue;
    await until(`apply ${obj.kind}/${obj.metadata.name}`, async () => {
      await client.apply(obj, 'sluice-e2e-node');
      return true;
    });
  }
  say(`applied ${values.apply}`);
}
if (values.dns) {
  await until('CoreDNS available', async () => {
    const d = await client.getOrNull<Deployment>(
      resourceFor('apps/v1', 'Deployment'),
      'kube-system',
      'coredns',
    );
    return (d?.status?.availableReplicas ?? 0) >= 1;
  });
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([values.dns]);
  // The first lookups right after CoreDNS is Ready may time out while kube-proxy writes its rules.
  const addrs = await until('DNS', async () => resolver.resolve4('kubernetes.default.svc.cluster.local'));
  say(`DNS answers: kubernetes.default.svc.cluster.local = ${addrs.join(',')}`);
}
