/**
 * insightface training sets in RecordIO (`train.rec` + `train.idx`, e.g. MS1MV2, CASIA-WebFace as
 * distributed with arcface_torch), read the way `MXFaceDataset` reads them:
 * - record 0 carries a header with `flag > 0` whose label vector is `[imagesEnd, identitiesEnd]`:
 *   images are records 1 … imagesEnd−1 and one range record per identity follows them;
 * - when record 0 has `flag = 0` there is no such header and every indexed record is an image;
 * - an image record's label is `label` (flag 0) or `label[0]` (flag > 0); its payload is an encoded
 *   JPEG/PNG.
 * Labels travel as float32 in the format, so they are exact up to 2^24.
 */
import { dirname, join } from 'node:path';
import { CorruptFileError, InvalidArgumentError } from '../../errors.js';
import { MiB, readRegularFileAsync } from '../../regular-file.js';
import { createDataset } from '../dataset.js';
import { decodeImage, type ResizeFit } from '../decode.js';
import { checkShape, FACE_SHAPE } from '../shape.js';
import type { Dataset, ImageShape } from '../types.js';
import { RecordIOFile } from './file.js';
import { IR_HEADER_SIZE, unpackIRHeader } from './ir-header.js';

/** Options of {@link openInsightfaceRecordIO}. */
export interface RecordIODatasetOptions {
  /** Index file (default: the `.rec` path with `.idx`; without one the file is scanned). */
  readonly idxPath?: string;
  /** Size images are resized to (default 112×112×3; insightface records are already 112×112). */
  readonly shape?: ImageShape;
  /** Resize mode when an image has another size (default `'cover'`). */
  readonly fit?: ResizeFit;
  /**
   * Number of identities. Default: from the identity records of record 0, else the first field of
   * the `property` file next to the `.rec` (`classes,height,width`), else one more than the largest
   * label (known from the record headers read on opening).
   */
  readonly numClasses?: number;
}

function labelOf(label: number | Float32Array): number {
  return typeof label === 'number' ? label : label[0];
}

async function readProperty(recPath: string): Promise<number | undefined> {
  try {
    const path = join(dirname(recPath), 'property');
    const bytes = await readRegularFileAsync(path, { what: 'a property file', maxBytes: MiB });
    const text = bytes.toString('utf8');
    const classes = Number(text.trim().split(',')[0]);
    return Number.isInteger(classes) && classes > 0 ? classes : undefined;
  } catch {
    return undefined;
  }
}

/** Where the images and identity records of an insightface `.rec` are, from its header record 0. */
export interface InsightfaceLayout {
  /** One past the last image key (images are keys 1 … imagesEnd−1). */
  readonly imagesEnd: number;
  /** One past the last identity record key. */
  readonly identitiesEnd: number;
}

/** Reads the header record 0; undefined when the file has none (record 0 absent or with `flag = 0`). */
export async function readInsightfaceLayout(file: RecordIOFile): Promise<InsightfaceLayout | undefined> {
  if (!file.has(0)) return undefined;
  const offset = file.offsetOf(0);
  const { header } = unpackIRHeader(await file.read(0), file.path, offset);
  if (header.flag === 0) return undefined;
  const label = header.label as Float32Array;
  const imagesEnd = label[0];
  const identitiesEnd = label.length > 1 ? label[1] : imagesEnd;
  if (
    !Number.isInteger(imagesEnd) ||
    imagesEnd < 1 ||
    !Number.isInteger(identitiesEnd) ||
    identitiesEnd < imagesEnd
  ) {
    throw new CorruptFileError(
      file.path,
      `header record at byte offset ${offset} has label [${Array.from(label)}]`,
    );
  }
  return { imagesEnd, identitiesEnd };
}

/**
 * The image-key range `[start, end)` of every identity, from the identity records that follow the
 * images (identity k is record imagesEnd + k). Empty when the file has no header record. Ranges must be
 * integers inside the image keys `[1, imagesEnd)` and must not overlap; otherwise `CorruptFileError`
 * names the identity record and its byte offset.
 */
export async function readIdentityRanges(file: RecordIOFile): Promise<[number, number][]> {
  const layout = await readInsightfaceLayout(file);
  if (layout === undefined) return [];
  const { imagesEnd } = layout;
  const ranges: [number, number][] = [];
  const where = (key: number) =>
    `identity record ${key} at byte offset ${file.has(key) ? file.offsetOf(key) : '(not indexed)'}`;
  for (let key = imagesEnd; key < layout.identitiesEnd; key++) {
    if (!file.has(key)) throw new CorruptFileError(file.path, `identity record ${key} is not in the index`);
    const offset = file.offsetOf(key);
    const { header } = unpackIRHeader(await file.read(key), file.path, offset);
    const label = header.label;
    if (typeof label === 'number' || label.length < 2 || !(label[0] <= label[1])) {
      throw new CorruptFileError(file.path, `${where(key)} has no [start, end) range`);
    }
    const [start, end] = label;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 1 || end > imagesEnd) {
      throw new CorruptFileError(
        file.path,
        `${where(key)} has range [${start}, ${end}), expected integers within the image keys [1, ${imagesEnd})`,
      );
    }
    ranges.push([start, end]);
  }
  // Overlap: sorted by start, each non-empty range must begin at or after the end of the one before.
  const order = ranges.map((_, k) => k).filter((k) => ranges[k][0] < ranges[k][1]);
  order.sort((a, b) => ranges[a][0] - ranges[b][0]);
  for (let i = 1; i < order.length; i++) {
    const [before, k] = [order[i - 1], order[i]];
    if (ranges[k][0] < ranges[before][1]) {
      throw new CorruptFileError(
        file.path,
        `${where(imagesEnd + k)} has range [${ranges[k][0]}, ${ranges[k][1]}), which overlaps ` +
          `[${ranges[before][0]}, ${ranges[before][1]}) of ${where(imagesEnd + before)}`,
      );
    }
  }
  return ranges;
}

/**
 * Labels of image keys 1 … imagesEnd−1 from the identity ranges (identity k labels its range with k).
 * An image in no range raises `CorruptFileError`: its identity would be unknown.
 */
function labelsFromRanges(file: RecordIOFile, imagesEnd: number, ranges: [number, number][]): Int32Array {
  const labels = new Int32Array(imagesEnd - 1).fill(-1);
  ranges.forEach(([start, end], k) => {
    labels.fill(k, start - 1, end - 1);
  });
  const orphan = labels.indexOf(-1);
  if (orphan >= 0) {
    const key = orphan + 1;
    throw new CorruptFileError(
      file.path,
      `image record ${key} at byte offset ${file.offsetOf(key)} lies in no identity range`,
    );
  }
  return labels;
}

/** Bytes of an image record that hold its class: the 24-byte header and the first float of a vector. */
const LABEL_HEAD_BYTES = IR_HEADER_SIZE + 4;

/**
 * Labels of the image records `keys` from their headers alone: one pass over the
 * index in file order that reads a few bytes per record and never the encoded image.
 */
async function labelsFromHeaders(file: RecordIOFile, keys: Float64Array): Promise<Int32Array> {
  const labels = new Int32Array(keys.length);
  for await (const { index, key, offset, head } of file.heads(keys, LABEL_HEAD_BYTES)) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    // A vector label's first value sits right after the header; anything shorter gets unpack's error.
    const label =
      head.length === LABEL_HEAD_BYTES && view.getUint32(0, true) > 0
        ? view.getFloat32(IR_HEADER_SIZE, true)
        : labelOf(unpackIRHeader(head, file.path, offset).header.label);
    if (!Number.isInteger(label) || label < 0 || label > 2 ** 24) {
      throw new CorruptFileError(
        file.path,
        `record ${key} at byte offset ${offset} has label ${label}, expected a non-negative integer`,
      );
    }
    labels[index] = label;
  }
  return labels;
}

/**
 * Opens an insightface `.rec` as a dataset; ids read `<rec path>#<key>`. Labels are known on opening
 * without decoding any image: from the identity records when the file has them (one read per
 * identity), else from each image record's header (a few bytes per record). Images are read lazily.
 */
export async function openInsightfaceRecordIO(
  recPath: string,
  options: RecordIODatasetOptions = {},
): Promise<Dataset> {
  const shape = checkShape('shape', options.shape ?? FACE_SHAPE);
  const fit = options.fit ?? 'cover';
  if (fit !== 'cover' && fit !== 'fill') throw new InvalidArgumentError('fit', "'cover' or 'fill'", fit);
  if (
    options.numClasses !== undefined &&
    (!Number.isInteger(options.numClasses) || options.numClasses <= 0)
  ) {
    throw new InvalidArgumentError('numClasses', 'a positive integer', options.numClasses);
  }
  const file = await RecordIOFile.open(recPath, options.idxPath);
  try {
    let imageKeys: Float64Array;
    let labels: Int32Array;
    let numClasses = options.numClasses;
    let labelSource = 'its header';
    const layout = await readInsightfaceLayout(file);
    if (layout !== undefined) {
      const { imagesEnd, identitiesEnd } = layout;
      imageKeys = new Float64Array(imagesEnd - 1);
      for (let k = 1; k < imagesEnd; k++) {
        if (!file.has(k))
          throw new CorruptFileError(recPath, `image record ${k} (below ${imagesEnd}) is not in the index`);
        imageKeys[k - 1] = k;
      }
      if (identitiesEnd > imagesEnd) {
        labels = labelsFromRanges(file, imagesEnd, await readIdentityRanges(file));
        numClasses ??= identitiesEnd - imagesEnd;
        labelSource = 'its identity record';
      } else {
        labels = await labelsFromHeaders(file, imageKeys);
      }
    } else {
      imageKeys = Float64Array.from(file.index.keys).sort();
      labels = await labelsFromHeaders(file, imageKeys);
    }
    if (imageKeys.length === 0) throw new CorruptFileError(recPath, 'no image records');
    numClasses ??= (await readProperty(recPath)) ?? labels.reduce((max, l) => Math.max(max, l), -1) + 1;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] >= numClasses) {
        throw new CorruptFileError(
          recPath,
          `record ${imageKeys[i]} at byte offset ${file.offsetOf(imageKeys[i])} has label ${labels[i]}, ` +
            `expected an integer in [0, ${numClasses})`,
        );
      }
    }

    const source = {
      size: imageKeys.length,
      shape,
      read: async (i: number) => {
        const key = imageKeys[i];
        const offset = file.offsetOf(key);
        const { header, payload } = unpackIRHeader(await file.read(key), recPath, offset);
        const label = labelOf(header.label);
        if (label !== labels[i]) {
          throw new CorruptFileError(
            recPath,
            `record ${key} at byte offset ${offset} has label ${label}, but ${labelSource} gave ${labels[i]}`,
          );
        }
        const pixels = await decodeImage(
          payload,
          shape,
          `${recPath} (record ${key} at byte offset ${offset})`,
          fit,
        );
        return { pixels, label, id: `${recPath}#${key}` };
      },
    };
    return createDataset(source, {
      name: `recordio:${recPath}`,
      numClasses,
      labels,
      close: () => file.close(),
    });
  } catch (error) {
    await file.close();
    throw error;
  }
}
