// patches/kafkajs+2.2.4.patch changes how kafkajs's protocol encoder allocates, never which
// bytes it writes. These check the bytes against an encoding written here from the Kafka
// protocol's definition (zigzag + LEB128 varints) and round trips through kafkajs's own decoder.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

interface Encoder {
  writeVarInt(value: number): Encoder;
  writeVarLong(value: unknown): Encoder;
  writeVarIntString(value: string): Encoder;
  readonly buffer: Buffer;
}
interface Decoder {
  readVarInt(): number;
  readVarLong(): { toString(): string };
  readVarIntBytes(): Buffer;
  canReadBytes(length: number): boolean;
}
interface DecodedRecord {
  key: Buffer;
  value: Buffer;
  headers: Record<string, Buffer>;
  offset: string;
  timestamp: string;
}

const EncoderClass = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => Encoder;
const DecoderClass = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => Decoder;
const Long = require('kafkajs/src/utils/long.js') as { fromString(value: string): unknown };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string;
  value: Buffer | string;
  headers: Record<string, string>;
}) => { buffer: Buffer };
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  decoder: Decoder,
  context: { firstOffset: string; firstTimestamp: string; magicByte: number },
) => DecodedRecord;

/** The Kafka protocol's signed varint: zigzag, then 7 bits per byte, low bits first. */
function referenceVarint(value: bigint): Buffer {
  let zigzag = value >= 0n ? value * 2n : -value * 2n - 1n;
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

const INT32_SAMPLES = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  127,
  128,
  8191,
  8192,
  2 ** 20,
  -(2 ** 20),
  2 ** 30 - 1,
  -(2 ** 30),
  2 ** 30,
  -(2 ** 30) - 1,
  2 ** 31 - 1,
  -(2 ** 31),
];

describe('kafkajs encoder patch', () => {
  it('is applied (the postinstall script ran patch-package)', () => {
    for (const file of ['protocol/encoder.js', 'protocol/recordBatch/header/v0/index.js', 'protocol/recordBatch/record/v0/index.js']) {
      expect(readFileSync(require.resolve(`kafkajs/src/${file}`), 'utf8'), `${file}: run npm ci, whose postinstall applies patches/`).toContain('audite patch');
    }
  });

  it('writes 32-bit varints as the protocol defines them, in place and across buffer growth', () => {
    const samples = [...INT32_SAMPLES, ...Array.from({ length: 500 }, () => Math.floor(Math.random() * 2 ** 32) - 2 ** 31)];
    // A 1-byte initial buffer forces growth in the middle of many writes.
    const encoder = new EncoderClass(1);
    for (const value of samples) encoder.writeVarInt(value);
    expect(encoder.buffer.equals(Buffer.concat(samples.map((v) => referenceVarint(BigInt(v)))))).toBe(true);
    const decoder = new DecoderClass(encoder.buffer);
    expect(samples.map(() => decoder.readVarInt())).toEqual(samples);
  });

  it('writes 64-bit varints the same on the 31-bit fast path and on the Long path', () => {
    const numbers = [...INT32_SAMPLES, 2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    const longs = ['9223372036854775807', '-9223372036854775808', '1', '-1'];
    const encoder = new EncoderClass();
    for (const value of numbers) encoder.writeVarLong(value);
    for (const value of longs) encoder.writeVarLong(Long.fromString(value));
    const expected = [...numbers.map(BigInt), ...longs.map(BigInt)];
    expect(encoder.buffer.equals(Buffer.concat(expected.map(referenceVarint)))).toBe(true);
    const decoder = new DecoderClass(encoder.buffer);
    expect(expected.map(() => decoder.readVarLong().toString())).toEqual(expected.map(String));
  });

  it('encodes records with headers of every size that kafkajs decodes back unchanged', () => {
    for (const size of [0, 1, 63, 64, 600, 70_000]) {
      const headers = { ce_id: '42', ce_source: 'x'.repeat(size), 'content-type': 'application/json', ce_subject: 'ü'.repeat(size) };
      const value = JSON.stringify({ new: { id: 1, note: 'y'.repeat(size) } });
      const record = encodeRecord({ offsetDelta: 7, timestampDelta: 12, key: '["customer","1"]', value, headers });
      // A record is its length as a varint, then its body (which is what kafkajs's decoder reads).
      const framed = new DecoderClass(record.buffer);
      const body = framed.readVarIntBytes();
      expect(framed.canReadBytes(1)).toBe(false);
      const decoded = decodeRecord(new DecoderClass(body), { firstOffset: '100', firstTimestamp: '1000', magicByte: 2 });
      expect(decoded.offset).toBe('107');
      expect(decoded.timestamp).toBe('1012');
      expect(decoded.key.toString()).toBe('["customer","1"]');
      expect(decoded.value.toString()).toBe(value);
      expect(Object.fromEntries(Object.entries(decoded.headers).map(([k, v]) => [k, v.toString()]))).toEqual(headers);
    }
  });
});
