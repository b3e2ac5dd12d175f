/**
 * The head registry: `createHead(name, params)` validates the parameters against the head's schema
 * (filling in defaults) and returns a runnable {@link Head}.
 */
import type { z } from 'zod';
import { InvalidArgumentError, UnknownNameError } from '../errors.js';
import { createRng, type Rng } from '../rng.js';
import { adacos } from './adacos.js';
import { adaface } from './adaface.js';
import { adamsoftmax } from './adamsoftmax.js';
import { airface } from './airface.js';
import { arcface } from './arcface.js';
import { arcnegface } from './arcnegface.js';
import { centerloss } from './centerloss.js';
import { circleloss } from './circleloss.js';
import { combined } from './combined.js';
import { amsoftmax, cosface } from './cosface.js';
import { curricularface } from './curricularface.js';
import { Head, type HeadDefinition, type HeadState } from './define.js';
import { discface } from './discface.js';
import { elasticface } from './elasticface.js';
import { magface } from './magface.js';
import { mvsoftmax } from './mvsoftmax.js';
import { normface } from './normface.js';
import { npcface } from './npcface.js';
import { qamface } from './qamface.js';
import { softmax } from './softmax.js';
import { sphereface } from './sphereface.js';
import { subcenterArcface } from './subcenter.js';

// biome-ignore lint/suspicious/noExplicitAny: definitions differ in their parameter types.
type AnyDefinition = HeadDefinition<any, any>;

const definitions: readonly AnyDefinition[] = [
  softmax,
  normface,
  sphereface,
  cosface,
  amsoftmax,
  arcface,
  combined,
  curricularface,
  mvsoftmax,
  circleloss,
  discface,
  npcface,
  centerloss,
  adacos,
  magface,
  adamsoftmax,
  arcnegface,
  airface,
  qamface,
  adaface,
  subcenterArcface,
  elasticface,
];

const byName = new Map<string, AnyDefinition>(definitions.map((d) => [d.name, d]));

/** Names of every registered head. */
export const headNames: readonly string[] = definitions.map((d) => d.name);

/** A head's definition (schema, summary) by name. */
export function headDefinition(name: string): AnyDefinition {
  const def = byName.get(name);
  if (!def) throw new UnknownNameError('head', String(name), headNames);
  return def;
}

/** Validate parameters for a head, filling in defaults; throws InvalidArgumentError naming the field. */
export function resolveParams(name: string, params: unknown = {}): Record<string, unknown> {
  const def = headDefinition(name);
  // Only a missing argument means "the defaults": null, an array or a number is a mistake to report
  // (null used to pass as {} and silently train with the defaults).
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw new InvalidArgumentError(
      `${name} params`,
      'an object of head parameters such as { margin: 0.5 }, or undefined for the defaults',
      params,
    );
  }
  const parsed = (def.schema as z.ZodType).safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length > 0 ? `${name}.${issue.path.join('.')}` : `${name} params`;
    throw new InvalidArgumentError(field, issue.message);
  }
  return parsed.data as Record<string, unknown>;
}

/** Options of {@link createHead}. */
export interface CreateHeadOptions {
  /** Random source for heads that sample (ElasticFace); defaults to a generator seeded with 0. */
  rng?: Rng;
  /** Number of classes, to initialise state that depends on it (AdaCos) before the first forward. */
  classes?: number;
}

/** Create a head by name with validated parameters. */
export function createHead(
  name: string,
  params: unknown = {},
  options: CreateHeadOptions = {},
): Head<unknown, HeadState> {
  const def = headDefinition(name);
  const head = new Head(def, resolveParams(name, params), options.rng ?? createRng(0));
  if (options.classes !== undefined) head.initState(options.classes);
  return head;
}
