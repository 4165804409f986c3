/**
 * The aborted-transaction index's entry format (Kafka's AbortedTxn: 34 bytes, big-endian, version
 * 0) and what a read_committed fetch collects from it. Pure logic: bytes in, entries out.
 */
import { describe, expect, it } from 'vitest';
import {
  ABORTED_TXN_SIZE,
  decodeAbortedTxns,
  encodeAbortedTxn,
} from '../../src/storage/transaction-index.js';

describe('transaction index entries', () => {
  it('encodes an entry as Kafka lays it out', () => {
    const b = encodeAbortedTxn({
      producerId: 0x0102n,
      firstOffset: 5n,
      lastOffset: 9n,
      lastStableOffset: 10n,
    });
    expect(b.length).toBe(ABORTED_TXN_SIZE);
    expect(b.toString('hex')).toBe(
      [
        '0000', // version
        '0000000000000102', // producer id
        '0000000000000005', // first offset
        '0000000000000009', // last offset (the ABORT marker)
        '000000000000000a', // last stable offset
      ].join(''),
    );
  });

  it('decodes a file of entries, ignoring a cut tail and refusing a newer version', () => {
    const entries = [
      { producerId: 7n, firstOffset: 0n, lastOffset: 4n, lastStableOffset: 5n },
      { producerId: 8n, firstOffset: 2n, lastOffset: 11n, lastStableOffset: 12n },
    ];
    const file = Buffer.concat([...entries.map(encodeAbortedTxn), Buffer.alloc(10)]);
    expect(decodeAbortedTxns(file)).toEqual(entries);
    const newer = encodeAbortedTxn(entries[0]!);
    newer.writeInt16BE(1, 0);
    expect(() => decodeAbortedTxns(newer, 'x.txnindex')).toThrow(/Unexpected aborted transaction version 1/);
  });
});
