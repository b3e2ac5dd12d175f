/**
 * Starting parameters of every head for the live panels: ten digit classes in a plane. Each head file
 * gives them (`smallScale.panel`; why the library's defaults do not fit there is written beside that
 * field in src/heads/define.ts). Parameters not listed keep the library's defaults.
 */
import { headDefinition, headNames, resolveParams } from '../../../src/heads/registry.js';

/** Every registered head can be trained in a panel. */
export const TRAINABLE_HEADS: readonly string[] = headNames;

/** A head's starting parameters for ten classes in a plane, completed by its schema. */
export function trainingDefaults(name: string): Record<string, unknown> {
  return resolveParams(name, headDefinition(name).smallScale?.panel ?? {}) as Record<string, unknown>;
}
