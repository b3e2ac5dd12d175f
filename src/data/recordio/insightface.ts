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
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CorruptFileError, InvalidArgumentError } from '../../errors.js';
import { createDataset } from '../dataset.js';
import { decodeImage, type ResizeFit } from '../decode.js';
import { checkShape, FACE_SHAPE } from '../shape.js';
import type { Dataset, ImageShape } from '../types.js';
import { RecordIOFile } from './file.js';
import { unpackIRHeader } from './ir-header.js';

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
   * label (which reads every record header).
   */
  readonly numClasses?: number;
}

function labelOf(label: number | Float32Array): number {
  return typeof label === 'number' ? label : label[0];
}

async function readProperty(recPath: string): Promise<number | undefined> {
  try {
    const text = await readFile(join(dirname(recPath), 'property'), 'utf8');
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
 * images (identity k is record imagesEnd + k). Empty when the file has no header record.
 */
export async function readIdentityRanges(file: RecordIOFile): Promise<[number, number][]> {
  const layout = await readInsightfaceLayout(file);
  if (layout === undefined) return [];
  const ranges: [number, number][] = [];
  for (let key = layout.imagesEnd; key < layout.identitiesEnd; key++) {
    const offset = file.offsetOf(key);
    const { header } = unpackIRHeader(await file.read(key), file.path, offset);
    const label = header.label;
    if (typeof label === 'number' || label.length < 2 || !(label[0] <= label[1])) {
      throw new CorruptFileError(
        file.path,
        `identity record ${key} at byte offset ${offset} has no [start, end) range`,
      );
    }
    ranges.push([label[0], label[1]]);
  }
  return ranges;
}

/** Opens an insightface `.rec` as a dataset; ids read `<rec path>#<key>`. */
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
    let numClasses = options.numClasses;
    const first = file.has(0)
      ? unpackIRHeader(await file.read(0), recPath, file.offsetOf(0)).header
      : undefined;
    if (first !== undefined && first.flag > 0) {
      const [imagesEnd, identitiesEnd] = first.label as Float32Array;
      if (
        !Number.isInteger(imagesEnd) ||
        imagesEnd < 1 ||
        (first.flag > 1 && !Number.isInteger(identitiesEnd))
      ) {
        throw new CorruptFileError(
          recPath,
          `header record at byte offset ${file.offsetOf(0)} has label ${first.label}`,
        );
      }
      imageKeys = new Float64Array(imagesEnd - 1);
      for (let k = 1; k < imagesEnd; k++) {
        if (!file.has(k))
          throw new CorruptFileError(recPath, `image record ${k} (below ${imagesEnd}) is not in the index`);
        imageKeys[k - 1] = k;
      }
      if (numClasses === undefined && first.flag > 1 && identitiesEnd > imagesEnd)
        numClasses = identitiesEnd - imagesEnd;
    } else {
      imageKeys = Float64Array.from(file.index.keys).sort();
    }
    numClasses ??= await readProperty(recPath);
    if (numClasses === undefined) {
      let max = -1;
      for (const key of imageKeys) {
        const offset = file.offsetOf(key);
        max = Math.max(max, labelOf(unpackIRHeader(await file.read(key), recPath, offset).header.label));
      }
      numClasses = max + 1;
    }
    if (numClasses <= 0) throw new CorruptFileError(recPath, 'no image records');

    const source = {
      size: imageKeys.length,
      shape,
      read: async (i: number) => {
        const key = imageKeys[i];
        const offset = file.offsetOf(key);
        const { header, payload } = unpackIRHeader(await file.read(key), recPath, offset);
        const label = labelOf(header.label);
        if (!Number.isInteger(label) || label < 0 || label >= (numClasses as number)) {
          throw new CorruptFileError(
            recPath,
            `record ${key} at byte offset ${offset} has label ${label}, expected an integer in [0, ${numClasses})`,
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
    return createDataset(source, { name: `recordio:${recPath}`, numClasses, close: () => file.close() });
  } catch (error) {
    await file.close();
    throw error;
  }
}
