/**
 * Image folders laid out as `DIR/<identity>/<image files>` (the torchvision ImageFolder / insightface
 * "folder of aligned faces" layout). Identity folders sorted by name give the class indices; files are
 * decoded lazily, one per read, so the dataset never sits in memory.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { createDataset } from './dataset.js';
import { decodeImage, type ResizeFit } from './decode.js';
import { checkShape, FACE_SHAPE } from './shape.js';
import type { Dataset, ImageShape } from './types.js';

/** File extensions read by default (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
];

/** What a scan of an image folder finds. */
export interface ImageFolderIndex {
  /** Identity folder names in class-index order. */
  readonly classNames: string[];
  /** Image paths relative to the root, `identity/file`, grouped by class, sorted within each. */
  readonly files: string[];
  /** Class index of each file. */
  readonly labels: Int32Array;
}

/** Options of {@link openImageFolder}. */
export interface ImageFolderOptions {
  /** Size every image is resized to (default 112×112×3, the MobileFaceNet input). */
  readonly shape?: ImageShape;
  /** Resize mode (default `'cover'`: centre crop). */
  readonly fit?: ResizeFit;
  /** Extensions to read (default {@link IMAGE_EXTENSIONS}). */
  readonly extensions?: readonly string[];
}

// Code-unit order, independent of the locale, so class indices are the same on every machine.
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function isDirectory(root: string, entry: Dirent): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(join(root, entry.name))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Lists identities and image files. Every sub-folder of `dir` not starting with `.` is an identity
 * (also one without images, so class indices depend only on folder names); files directly in `dir`,
 * hidden files and deeper folders are ignored.
 */
export async function scanImageFolder(
  dir: string,
  extensions: readonly string[] = IMAGE_EXTENSIONS,
): Promise<ImageFolderIndex> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new InvalidArgumentError('dir', 'a folder path', dir);
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new CorruptFileError(dir, `cannot list the folder: ${(error as Error).message}`);
  }
  const classNames: string[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith('.') && (await isDirectory(dir, entry))) classNames.push(entry.name);
  }
  classNames.sort(byName);
  if (classNames.length === 0) {
    throw new InvalidArgumentError('dir', 'a folder with one sub-folder of images per identity', dir);
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (let c = 0; c < classNames.length; c++) {
    const folder = join(dir, classNames[c]);
    let names: Dirent[];
    try {
      names = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      throw new CorruptFileError(folder, `cannot list the folder: ${(error as Error).message}`);
    }
    const images = names
      .filter((e) => !e.name.startsWith('.') && !e.isDirectory())
      .map((e) => e.name)
      .filter((name) => {
        const dot = name.lastIndexOf('.');
        return dot > 0 && wanted.has(name.slice(dot).toLowerCase());
      })
      .sort(byName);
    for (const name of images) {
      files.push(`${classNames[c]}/${name}`);
      labels.push(c);
    }
  }
  if (files.length === 0) {
    throw new InvalidArgumentError('dir', `identity folders holding images (${[...wanted].join(' ')})`, dir);
  }
  return { classNames, files, labels: Int32Array.from(labels) };
}

/** Opens an image folder as a dataset; ids are the relative paths `identity/file`. */
export async function openImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  const shape = checkShape('shape', options.shape ?? FACE_SHAPE);
  const fit = options.fit ?? 'cover';
  if (fit !== 'cover' && fit !== 'fill') throw new InvalidArgumentError('fit', "'cover' or 'fill'", fit);
  const index = await scanImageFolder(dir, options.extensions ?? IMAGE_EXTENSIONS);
  const source = {
    size: index.files.length,
    shape,
    read: async (i: number) => {
      const id = index.files[i];
      const pixels = await decodeImage(join(dir, id), shape, join(dir, id), fit);
      return { pixels, label: index.labels[i], id };
    },
  };
  return createDataset(source, {
    name: `folder:${dir}`,
    numClasses: index.classNames.length,
    labels: index.labels,
    classNames: index.classNames,
  });
}
