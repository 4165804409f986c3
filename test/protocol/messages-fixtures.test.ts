/**
 * Hand-written byte fixtures, laid out from Kafka's protocol guide (docs/protocol.html) and the
 * message JSON, so a bug that is symmetric in encode and decode still fails here.
 */
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, DecodeError, EncodeError } from '../../src/protocol/primitives.js';
import {
  ApiKeys,
  APIS,
  apiByKey,
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeMetadataRequest,
  decodeProduceRequest,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  encodeMetadataRequest,
  encodeRequestFrame,
  encodeRequestHeader,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/messages/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const enc = (f: (w: ByteWriter) => void): string => {
  const w = new ByteWriter(4);
  f(w);
  return Buffer.from(w.finish()).toString('hex');
};

describe('request header', () => {
  it('v2 keeps clientId a nullable int16-length string and adds tagged fields', () => {
    const h = { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: null };
    // key 0012, version 0003, correlation 00000007, clientId null = ffff, no tagged fields = 00
    expect(enc((w) => encodeRequestHeader(w, h, 2))).toBe('0012' + '0003' + '00000007' + 'ffff' + '00');
    const withTag = hex('0012 0003 00000007 0003 616263 01 05 02 abcd');
    const d = decodeRequestHeader(new ByteReader(withTag), 2);
    expect(d).toEqual({
      requestApiKey: 18,
      requestApiVersion: 3,
      correlationId: 7,
      clientId: 'abc',
      _unknownTaggedFields: [{ tag: 5, data: hex('abcd') }],
    });
    expect(enc((w) => encodeRequestHeader(w, d, 2))).toBe(withTag.toString('hex'));
  });

  it('v1 has no tagged fields and v0 no clientId', () => {
    const h = { requestApiKey: 3, requestApiVersion: 1, correlationId: 1, clientId: 'ab' };
    expect(enc((w) => encodeRequestHeader(w, h, 1))).toBe('0003000100000001' + '00026162');
    expect(enc((w) => encodeRequestHeader(w, { ...h, clientId: undefined }, 0))).toBe('0003000100000001');
  });

  it('picks header versions per api key and version', () => {
    expect(requestHeaderVersion(ApiKeys.ControlledShutdown, 0)).toBe(0);
    expect(requestHeaderVersion(ApiKeys.ControlledShutdown, 1)).toBe(1);
    expect(requestHeaderVersion(ApiKeys.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKeys.Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKeys.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKeys.ApiVersions, 99)).toBe(2); // newer client, KIP-511
    expect(requestHeaderVersion(ApiKeys.SaslHandshake, 1)).toBe(1); // never flexible
    expect(responseHeaderVersion(ApiKeys.ApiVersions, 3)).toBe(0); // always v0
    expect(responseHeaderVersion(ApiKeys.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKeys.Metadata, 9)).toBe(1);
  });
});

describe('ApiVersions', () => {
  it('request v3: compact client software name/version, then tagged fields', () => {
    const m = {
      clientSoftwareName: 'kcat',
      clientSoftwareVersion: '1.7',
      _unknownTaggedFields: [{ tag: 9, data: hex('01') }],
    };
    const expected = '05 6b636174' + '04 312e37' + '01 09 01 01';
    expect(enc((w) => encodeApiVersionsRequest(w, m, 3))).toBe(expected.replace(/ /g, ''));
    expect(decodeApiVersionsRequest(new ByteReader(hex(expected)), 3)).toEqual(m);
    // v0-2 have an empty body; the v3 fields are ignorable, so they are silently dropped.
    expect(enc((w) => encodeApiVersionsRequest(w, m, 2))).toBe('');
  });

  it('response v3: known and unknown tagged fields come out in tag order', () => {
    const m = {
      errorCode: 0,
      apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 9 }],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 5n,
      _unknownTaggedFields: [{ tag: 7, data: hex('ff') }],
    };
    const expected =
      '0000' + // error code
      '02 0000 0000 0009 00' + // compact array of 1, key/min/max, no tagged fields
      '00000000' + // throttle
      '02 01 08 0000000000000005 07 01 ff'; // 2 tagged: epoch (tag 1), unknown tag 7
    const bytes = enc((w) => encodeApiVersionsResponse(w, m, 3));
    expect(bytes).toBe(expected.replace(/ /g, ''));
    const d = decodeApiVersionsResponse(new ByteReader(hex(expected)), 3);
    expect(d.finalizedFeaturesEpoch).toBe(5n);
    expect(d.supportedFeatures).toEqual([]);
    expect(d.zkMigrationReady).toBe(false);
    expect(d._unknownTaggedFields).toEqual([{ tag: 7, data: hex('ff') }]);
  });

  it('a response frame for ApiVersions v3 uses header v0 (no tagged-field byte)', () => {
    const frame = encodeResponseFrame(ApiKeys.ApiVersions, 3, 42, { errorCode: 35, apiKeys: [] });
    // size, correlation id, then the body: error 0023, empty compact array 01, throttle 0, tags 00
    expect(frame.toString('hex')).toBe('0000000c' + '0000002a' + '0023' + '01' + '00000000' + '00');
    const back = decodeResponse(frame.subarray(4), ApiKeys.ApiVersions, 3);
    expect(back.correlationId).toBe(42);
    expect(back.body.errorCode).toBe(35);
  });
});

describe('Metadata', () => {
  it('request v1 with null topics (all topics) is int32 -1', () => {
    expect(enc((w) => encodeMetadataRequest(w, { topics: null }, 1))).toBe('ffffffff');
    expect(decodeMetadataRequest(new ByteReader(hex('ffffffff')), 1).topics).toBeNull();
  });

  it('request v0 cannot say "all topics": null is an error both ways', () => {
    expect(() => encodeMetadataRequest(new ByteWriter(), { topics: null }, 0)).toThrow(EncodeError);
    expect(() => decodeMetadataRequest(new ByteReader(hex('ffffffff')), 0)).toThrow(DecodeError);
  });

  it('request v9 is compact: null array is 0, then the bools and an empty tag section', () => {
    const m = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true };
    expect(enc((w) => encodeMetadataRequest(w, m, 9))).toBe('00' + '00' + '00' + '01' + '00');
  });

  it('a non-default value for a field the version lacks is an error (AllowAutoTopicCreation is 4+)', () => {
    expect(() =>
      encodeMetadataRequest(new ByteWriter(), { topics: [], allowAutoTopicCreation: false }, 3),
    ).toThrow(EncodeError);
    expect(enc((w) => encodeMetadataRequest(w, { topics: [], allowAutoTopicCreation: true }, 3))).toBe(
      '00000000',
    );
  });

  it('response frame v9 uses header v1 (correlation id + empty tag section)', () => {
    const frame = encodeResponseFrame(ApiKeys.Metadata, 9, 1, { brokers: [], topics: [] });
    expect(frame.subarray(4, 9).toString('hex')).toBe('0000000100');
  });
});

describe('Produce', () => {
  it('keeps records as a view of the input (zero copy)', () => {
    const records = Buffer.from('0102030405', 'hex');
    const frame = encodeRequestFrame(ApiKeys.Produce, 3, 9, 'c', {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    });
    const req = decodeRequest(frame.subarray(4));
    expect(req.apiKey).toBe(ApiKeys.Produce);
    if (req.apiKey !== ApiKeys.Produce) return;
    const got = req.body.topicData[0]!.partitionData[0]!.records!;
    expect(got.equals(records)).toBe(true);
    expect(got.buffer).toBe(frame.buffer);
    // v3 body: transactionalId null ffff, acks ffff, timeout 000003e8, 1 topic "t", 1 partition 0, 5 bytes
    const body = frame.subarray(4 + 2 + 2 + 4 + 3);
    expect(body.toString('hex')).toBe(
      'ffff' +
        'ffff' +
        '000003e8' +
        '00000001 0001 74 00000001 00000000 00000005 0102030405'.replace(/ /g, ''),
    );
  });

  it('truncated input is a DecodeError at every cut', () => {
    const w = new ByteWriter();
    APIS[ApiKeys.Produce].encodeRequest(
      w,
      {
        transactionalId: 'tx',
        acks: 1,
        timeoutMs: 5,
        topicData: [{ name: 'a', partitionData: [{ index: 1, records: hex('aa') }] }],
      },
      9,
    );
    const full = Buffer.from(w.finish());
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => decodeProduceRequest(new ByteReader(full.subarray(0, cut)), 9)).toThrow(DecodeError);
    }
  });
});

describe('registry', () => {
  it('knows every api key with its ranges and listeners', () => {
    expect(ApiKeys.Produce).toBe(0);
    expect(ApiKeys.ApiVersions).toBe(18);
    const fetch = apiByKey(1)!;
    expect(fetch.name).toBe('Fetch');
    expect(fetch.minVersion).toBe(0);
    expect(fetch.maxVersion).toBe(17);
    expect(fetch.flexibleMinVersion).toBe(12);
    expect(fetch.broker).toBe(true);
    expect(apiByKey(ApiKeys.SaslHandshake)!.flexibleMinVersion).toBeNull();
    expect(apiByKey(9999)).toBeUndefined();
  });

  it('rejects unknown api keys and versions with DecodeError', () => {
    expect(() => decodeRequest(hex('7fff 0000 00000001 ffff'))).toThrow(DecodeError);
    expect(() => decodeRequest(hex('0003 0063 00000001 ffff'))).toThrow(DecodeError);
    expect(() => decodeRequest(hex('00'))).toThrow(DecodeError);
  });
});
