/** Ask a broker for its advertised API ranges (ApiVersions v0, hand-encoded: the test's own view). */
import { connect } from 'node:net';

export async function advertisedApis(
  host: string,
  port: number,
): Promise<Map<number, { min: number; max: number }>> {
  const req = Buffer.alloc(14);
  req.writeInt32BE(10, 0);
  req.writeInt16BE(18, 4); // ApiVersions
  req.writeInt16BE(0, 6); // v0
  req.writeInt32BE(1, 8); // correlation id
  req.writeInt16BE(-1, 12); // null client id
  const body = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(port, host, () => s.write(req));
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        s.destroy();
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    s.on('error', reject);
  });
  const out = new Map<number, { min: number; max: number }>();
  const n = body.readInt32BE(6);
  for (let i = 0; i < n; i++) {
    const at = 10 + i * 6;
    out.set(body.readInt16BE(at), { min: body.readInt16BE(at + 2), max: body.readInt16BE(at + 4) });
  }
  return out;
}
