/**
 * Writing RecordIO files (`.rec` + `.idx`) in MXNet's format, and insightface's training layout on top.
 */
import { type FileHandle, open, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../errors.js';
import { frameRecord } from './framing.js';
import { packIRHeader } from './ir-header.js';

/** Appends framed records to a `.rec` file and remembers the `.idx` lines. */
export class RecordIOWriter {
  private offset = 0;
  private nextKey = 0;
  private readonly lines: string[] = [];
  private readonly keys = new Set<number>();

  private constructor(
    private readonly handle: FileHandle,
    private readonly idxPath: string | undefined,
  ) {}

  /** Creates (or truncates) `recPath`; the index goes to `idxPath` on close when given. */
  static async create(recPath: string, idxPath?: string): Promise<RecordIOWriter> {
    return new RecordIOWriter(await open(recPath, 'w'), idxPath);
  }

  /** Appends one record under `key` (default: one more than the previous key, starting at 0). */
  async write(record: Uint8Array, key: number = this.nextKey): Promise<void> {
    if (!Number.isSafeInteger(key) || key < 0)
      throw new InvalidArgumentError('key', 'a non-negative integer', key);
    if (this.keys.has(key)) throw new InvalidArgumentError('key', 'a key not written before', key);
    const framed = frameRecord(record);
    await this.handle.write(framed, 0, framed.length, this.offset);
    this.keys.add(key);
    this.lines.push(`${key}\t${this.offset}\n`);
    this.offset += framed.length;
    this.nextKey = key + 1;
  }

  /** Closes the `.rec` and writes the `.idx`. */
  async close(): Promise<void> {
    await this.handle.close();
    if (this.idxPath !== undefined) await writeFile(this.idxPath, this.lines.join(''));
  }
}

/**
 * Writes `records` as keys 0, 1, 2, … to `recPath` (and the index to `idxPath` when given); returns the
 * number of records written.
 */
export async function writeRecordIO(
  recPath: string,
  idxPath: string | undefined,
  records: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<number> {
  const writer = await RecordIOWriter.create(recPath, idxPath);
  let count = 0;
  try {
    for await (const record of records) {
      await writer.write(record);
      count++;
    }
  } finally {
    await writer.close();
  }
  return count;
}

/**
 * Writes an insightface training set: record 0 is a header whose label vector is
 * `[imagesEnd, identitiesEnd]`; records 1 … imagesEnd−1 are images (label = identity index, `id` = key,
 * payload = the encoded image bytes); records imagesEnd … identitiesEnd−1 are one per identity with the
 * label vector `[first image key, end image key)`. Identities are numbered in the order given.
 */
export async function writeInsightfaceRecordIO(
  recPath: string,
  idxPath: string,
  identities: readonly (readonly Uint8Array[])[],
): Promise<void> {
  const imagesEnd = 1 + identities.reduce((sum, images) => sum + images.length, 0);
  const identitiesEnd = imagesEnd + identities.length;
  const writer = await RecordIOWriter.create(recPath, idxPath);
  try {
    await writer.write(packIRHeader({ label: [imagesEnd, identitiesEnd] }), 0);
    const ranges: [number, number][] = [];
    let key = 1;
    for (let label = 0; label < identities.length; label++) {
      const start = key;
      for (const image of identities[label]) {
        await writer.write(packIRHeader({ label, id: key }, image), key);
        key++;
      }
      ranges.push([start, key]);
    }
    for (let label = 0; label < identities.length; label++) {
      await writer.write(packIRHeader({ label: ranges[label], id: imagesEnd + label }), imagesEnd + label);
    }
  } finally {
    await writer.close();
  }
}
