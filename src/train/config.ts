/**
 * The configuration of a training run: one zod schema shared by `--config file.json`, the command-line
 * flags (which override the file) and `config.json` in the run folder.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { headNames, resolveParams } from '../heads/registry.js';
import { IRESNET_CUSTOM } from './backbones/iresnet-names.js';

/** Backbones a run can use (and `iresnet-A-B-C-D`: A…D IResNet blocks per stage). */
export const BACKBONE_NAMES = [
  'lenetpp',
  'mobilefacenet',
  'resnet-lite',
  'iresnet18',
  'iresnet34',
  'iresnet50',
  'iresnet100',
  'iresnet200',
] as const;

const positiveInt = z.number().int().positive();

/** Schema of a training configuration; every field has a default. */
export const trainConfigSchema = z.strictObject({
  /** Registered head name. */
  head: z.string().default('arcface'),
  /** Head parameters (checked against the head's own schema). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** `mnist`, `fashion-mnist`, an image folder (one sub-folder per identity) or an insightface `.rec`. */
  data: z.string().min(1).default('mnist'),
  /** Training images per class (mnist default 700, fashion-mnist 6000; folders: the split rule). */
  trainPerClass: positiveInt.optional(),
  /** Use at most this many training images per class (a smaller, faster run). */
  perClass: positiveInt.optional(),
  /** Held-out images per class used for verification pairs (default: all held out). */
  heldoutPerClass: positiveInt.optional(),
  /** Side of the square images of folders and `.rec` files (MNIST is 28). */
  imageSize: positiveInt.default(112),
  backbone: z
    .union([z.enum(BACKBONE_NAMES), z.string().regex(IRESNET_CUSTOM)], {
      error: `expected one of ${BACKBONE_NAMES.join(', ')} or iresnet-A-B-C-D`,
    })
    .default('lenetpp'),
  /** Channel multiplier of the backbone (1 = published widths). */
  width: z.number().positive().max(4).default(1),
  embeddingDim: positiveInt.default(2),
  epochs: positiveInt.default(5),
  batch: positiveInt.default(64),
  lr: z.number().positive().default(0.05),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
  /** SGD momentum (0 = plain SGD). */
  momentum: z.number().min(0).lt(1).default(0.9),
  /** L2 weight decay added to the backbone's gradients. */
  weightDecay: z.number().min(0).default(5e-4),
  schedule: z.enum(['step', 'cosine', 'poly', 'constant']).default('cosine'),
  /**
   * Clip the global gradient norm to this value (0: off). Normalised heads give the features a gradient
   * ∝ s/‖x‖, which explodes while ‖x‖ is small early in training; clipping keeps those steps bounded.
   */
  clipNorm: z.number().min(0).default(0),
  /** Linear learning-rate warm-up, in steps. */
  warmup: z.number().int().min(0).default(0),
  /** Mirror training images at random. */
  flip: z.boolean().default(false),
  seed: z.number().int().default(0),
  /**
   * Start from another run folder's checkpoint: its backbone, and its class weights when they have this
   * head's shape (see warm-start.ts); or from a PyTorch IResNet checkpoint (`.pth`/`.pt`, insightface's
   * `backbone.pth`) for an IResNet backbone. A resumed run restores its own checkpoint instead.
   */
  init: z.string().min(1).optional(),
  /** Verification pairs drawn from the held-out images (even). */
  pairs: positiveInt.default(2000),
  /** Metrics line every this many steps. */
  logEvery: positiveInt.default(5),
  /** Checkpoint every this many steps (0: at the end of each epoch only). */
  checkpointEvery: z.number().int().min(0).default(0),
  /** Stop after this many steps in total (for tests and quick looks; default: all epochs). */
  maxSteps: positiveInt.optional(),
});

/** A complete training configuration. */
export type TrainConfig = z.infer<typeof trainConfigSchema>;
/** A partial configuration (a config file, or flags). */
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** Map a schema path to the flag users typed (`embeddingDim` → `--embedding-dim`). */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Validate a configuration, filling in defaults. Errors are `InvalidArgumentError`s naming the flag
 * (`--epochs`) and, when the value came from a file, the file.
 */
export function parseTrainConfig(input: unknown, source = 'config'): TrainConfig {
  const parsed = trainConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.length > 0 ? String(issue.path[0]) : undefined;
    const name = key === undefined ? source : issue.code === 'unrecognized_keys' ? source : flagName(key);
    const what = issue.code === 'unrecognized_keys' ? `known keys only (${issue.message})` : issue.message;
    throw new InvalidArgumentError(source === 'config' ? name : `${name} in ${source}`, what);
  }
  const config = parsed.data;
  if (!headNames.includes(config.head)) {
    throw new InvalidArgumentError('--head', `one of ${headNames.join(', ')}`, config.head);
  }
  resolveParams(config.head, config.params);
  if (config.pairs % 2 !== 0) throw new InvalidArgumentError('--pairs', 'an even number', config.pairs);
  return config;
}

/** Read a JSON configuration file (not yet validated). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InvalidArgumentError('--config', 'a readable JSON file', path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorruptFileError(path, 'expected a JSON object of training options');
  }
  return value as Record<string, unknown>;
}

/**
 * The effective configuration: defaults, then the file, then the flags (flags win; `params` merge key
 * by key, so `--param margin=0.4` changes one parameter of the file's head).
 */
export function mergeTrainConfig(
  file: Record<string, unknown> | undefined,
  flags: Record<string, unknown>,
  source = 'config',
): TrainConfig {
  const fromFile = file ? parseTrainConfig(file, source) : undefined;
  const merged: Record<string, unknown> = { ...(file ?? {}) };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && k !== 'params') merged[k] = v;
  const headChanged = flags.head !== undefined && fromFile !== undefined && flags.head !== fromFile.head;
  const baseParams = headChanged ? {} : ((file?.params as Record<string, unknown> | undefined) ?? {});
  merged.params = { ...baseParams, ...((flags.params as Record<string, unknown> | undefined) ?? {}) };
  return parseTrainConfig(merged);
}
