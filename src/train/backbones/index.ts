/** Embedding networks by name. */
import type * as tf from '@tensorflow/tfjs';
import { UnknownNameError } from '../../errors.js';
import { lenetpp } from './lenetpp.js';
import { mobilefacenet } from './mobilefacenet.js';
import type { BackboneOptions } from './options.js';
import { resnetLite } from './resnet-lite.js';

export { LENETPP_CHANNELS, lenetpp } from './lenetpp.js';
export { mobilefacenet } from './mobilefacenet.js';
export type { BackboneOptions } from './options.js';
export { resnetLite } from './resnet-lite.js';
export { SameConv2D, type SameConv2DArgs, sameConv2d } from './same-conv.js';

const builders: Record<string, (options: BackboneOptions) => tf.LayersModel> = {
  lenetpp,
  mobilefacenet,
  'resnet-lite': resnetLite,
};

/** Build the backbone `name` (`lenetpp`, `mobilefacenet`, `resnet-lite`). */
export function createBackbone(name: string, options: BackboneOptions): tf.LayersModel {
  const build = builders[name];
  if (!build) throw new UnknownNameError('backbone', name, Object.keys(builders));
  return build(options);
}
