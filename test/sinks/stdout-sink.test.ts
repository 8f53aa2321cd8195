import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CloudEvent } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import type { OutboundEvent } from '../../src/events/outbound-event.ts';
import { createFileSink, createStreamSink } from '../../src/sinks/stdout-sink.ts';
import { tempDir } from '../support/temp.ts';

const BIG = '12345678901234567890';
const build = createEventBuilder();

function events(count: number, pad = 0): OutboundEvent[] {
  return Array.from({ length: count }, (_, i) =>
    build({
      id: i + 1,
      table: 'orders',
      subject: String(i + 1),
      type: 'orders.updated',
      time: 1_700_000_000,
      specversion: '1.0',
      data: `{"new":{"big":${BIG},"pad":"${'p'.repeat(pad)}"},"old":null}`,
      context: '{"actor":"Zoë"}',
    }),
  );
}

/** A stream with a tiny buffer whose writes complete later, so backpressure really happens. */
function slowStream(): Writable & { text: () => string; drains: number } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 256,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setImmediate(callback);
    },
  }) as Writable & { text: () => string; drains: number };
  stream.drains = 0;
  stream.on('drain', () => stream.drains++);
  stream.text = () => Buffer.concat(chunks).toString('utf8');
  return stream;
}

const never = () => new AbortController().signal;

describe('stream sink', () => {
  test('one valid structured CloudEvent per line, in order, big integers intact', async () => {
    const stream = slowStream();
    const sink = createStreamSink({ stream });
    const batch = events(3);
    await sink.publish(batch, never());
    const lines = stream.text().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(parsed.id).toBe(String(i + 1));
      expect(parsed.actor).toBe('Zoë');
      const { data: _data, ...attributes } = parsed;
      expect(new CloudEvent(attributes).validate()).toBe(true);
      expect(line).toContain(`"data":${batch[i]!.data}`);
      expect(line).toContain(`"big":${BIG}`);
    });
    expect(sink.health()).toEqual({ ready: true });
    expect(sink.kind).toBe('stdout');
  });

  test('waits for drain under backpressure and loses nothing', async () => {
    const stream = slowStream();
    const sink = createStreamSink({ stream });
    await sink.publish(events(200, 2000), never());
    expect(stream.drains).toBeGreaterThan(0);
    const ids = stream
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: string }).id);
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => String(i + 1)));
  });

  test('resolves only after the write callback', async () => {
    let release: (() => void) | undefined;
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        release = () => callback();
      },
    });
    let done = false;
    const publishing = createStreamSink({ stream })
      .publish(events(1), never())
      .then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    release!();
    await publishing;
    expect(done).toBe(true);
  });

  test('a write error rejects SINK_UNAVAILABLE and turns health not ready', async () => {
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('broken pipe'), { code: 'EPIPE' }));
      },
    });
    const sink = createStreamSink({ stream });
    await expect(sink.publish(events(1), never())).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    expect(sink.health()).toEqual({ ready: false, reason: 'write failed: EPIPE' });
    await expect(sink.publish(events(1), never())).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    await sink.close();
  });

  test('abort while waiting for the stream rejects with the reason', async () => {
    const stream = new Writable({ highWaterMark: 1, write() {} });
    const controller = new AbortController();
    const publishing = createStreamSink({ stream }).publish(events(1), controller.signal);
    controller.abort('stop');
    await expect(publishing).rejects.toBe('stop');
  });

  test('close() leaves a stream it does not own open', async () => {
    const stream = slowStream();
    await createStreamSink({ stream }).close();
    expect(stream.writableEnded).toBe(false);
  });
});

describe('file sink', () => {
  test('appends JSON lines and flushes before publish resolves', async () => {
    const path = join(tempDir(), 'events.jsonl');
    const first = createFileSink(path);
    await first.publish(events(2), never());
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3);
    await first.close();
    const second = createFileSink(path);
    await second.publish(events(1), never());
    await second.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { id: string }).id)).toEqual(['1', '2', '1']);
    expect(second.kind).toBe('file');
  });

  test('an unopenable path shows in publish and health', async () => {
    const sink = createFileSink(join(tempDir(), 'missing', 'events.jsonl'));
    await expect(sink.publish(events(1), never())).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    expect(sink.health()).toMatchObject({ ready: false, reason: 'write failed: ENOENT' });
    await sink.close();
  });
});
