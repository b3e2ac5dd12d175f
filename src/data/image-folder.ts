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
  /** Sub-folders that are not identities: without images, or symbolic links (see scanImageFolder). */
  readonly skipped: { readonly empty: string[]; readonly linked: string[] };
}

/** Options of {@link openImageFolder}. */
export interface ImageFolderOptions {
  /** Size every image is resized to (default 112×112×3, the MobileFaceNet input). */
  readonly shape?: ImageShape;
  /** Resize mode (default `'cover'`: centre crop). */
  readonly fit?: ResizeFit;
  /** Extensions to read (default {@link IMAGE_EXTENSIONS}). */
  readonly extensions?: readonly string[];
  /** The folder's scan when the caller already made it (to report what it skipped). */
  readonly index?: ImageFolderIndex;
}

// Code-unit order, independent of the locale, so class indices are the same on every machine.
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function isLinkedDirectory(root: string, entry: Dirent): Promise<boolean> {
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await stat(join(root, entry.name))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Lists identities and image files. Every sub-folder of `dir` not starting with `.` that holds at least
 * one image is an identity; files directly in `dir`, hidden files and deeper folders are ignored.
 * Two kinds of sub-folder are skipped and reported in `skipped` (a run's split sentence counts them):
 * - folders without images: as a class they would have weights but no sample, and a classifier over
 *   classes that never appear is not the data set the user meant;
 * - symbolic links to folders: a link can lead out of the data root (reading files the user did not
 *   hand over) or to another identity of the same root (one person as two classes); identities are the
 *   real folders under `dir` only.
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
  const folders: string[] = [];
  const linked: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) folders.push(entry.name);
    else if (await isLinkedDirectory(dir, entry)) linked.push(entry.name);
  }
  folders.sort(byName);
  linked.sort(byName);
  if (folders.length === 0) {
    const links =
      linked.length > 0 ? ` (symbolic links to folders are not followed: ${linked.join(', ')})` : '';
    throw new InvalidArgumentError('dir', `a folder with one sub-folder of images per identity${links}`, dir);
  }
  const classNames: string[] = [];
  const empty: string[] = [];
  const files: string[] = [];
  const labels: number[] = [];
  for (const name of folders) {
    const folder = join(dir, name);
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
    if (images.length === 0) {
      empty.push(name);
      continue;
    }
    const c = classNames.length;
    classNames.push(name);
    for (const image of images) {
      files.push(`${name}/${image}`);
      labels.push(c);
    }
  }
  if (files.length === 0) {
    throw new InvalidArgumentError('dir', `identity folders holding images (${[...wanted].join(' ')})`, dir);
  }
  return { classNames, files, labels: Int32Array.from(labels), skipped: { empty, linked } };
}

/** Opens an image folder as a dataset; ids are the relative paths `identity/file`. */
export async function openImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  const shape = checkShape('shape', options.shape ?? FACE_SHAPE);
  const fit = options.fit ?? 'cover';
  if (fit !== 'cover' && fit !== 'fill') throw new InvalidArgumentError('fit', "'cover' or 'fill'", fit);
  const index = options.index ?? (await scanImageFolder(dir, options.extensions ?? IMAGE_EXTENSIONS));
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
