/**
 * The test's way into the node's network namespace, without a link between the namespaces: this
 * process runs inside the namespace (`nsenter --net`) and listens on a unix socket, which is a file
 * and so reachable from the host. Each connection starts with one line, `HOST:PORT\n`; the relay
 * connects there from inside the namespace and pipes both ways. The harness (harness.ts `forward`)
 * listens on 127.0.0.1 on the host and opens one such connection per client connection, so a client
 * on the host reaches e.g. the kube-apiserver at 10.250.0.2:6443 through loopback only.
 *
 *   nsenter --net=/run/netns/sluice-node node --import tsx relay.ts /run/sluice-node/relay.sock
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

const path = process.argv[2];
if (!path) throw new Error('usage: relay.ts SOCKET_PATH');
rmSync(path, { force: true });

function pipe(client: Socket, head: Buffer): void {
  const nl = head.indexOf(10);
  const target = head.subarray(0, nl).toString('utf8').trim();
  const m = /^(.+):(\d+)$/.exec(target);
  if (!m) {
    client.destroy();
    return;
  }
  const upstream = createConnection({ host: m[1]!, port: Number(m[2]) });
  const rest = head.subarray(nl + 1);
  if (rest.length > 0) upstream.write(rest);
  client.pipe(upstream);
  upstream.pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close);
  upstream.on('error', close);
  client.on('close', close);
  upstream.on('close', close);
}

const server = createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    head = Buffer.concat([head, d]);
    if (head.includes(10)) {
      client.off('data', onData);
      client.pause();
      pipe(client, head);
    } else if (head.length > 1024) client.destroy();
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
server.listen(path, () => console.log(`relay listening on ${path}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
