/** Embedding networks by name. */
import type * as tf from '@tensorflow/tfjs';
import { UnknownNameError } from '../../errors.js';
import { iresnet, iresnetLayers } from './iresnet.js';
import { lenetpp } from './lenetpp.js';
import { mobilefacenet } from './mobilefacenet.js';
import type { BackboneOptions } from './options.js';
import { resnetLite } from './resnet-lite.js';

export { IRESNET_CUSTOM, IRESNET_DEPTHS, iresnet, iresnetBase, iresnetLayers } from './iresnet.js';
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

/**
 * Build the backbone `name`: `lenetpp`, `mobilefacenet`, `resnet-lite`, `iresnet18|34|50|100|200`, or
 * `iresnet-A-B-C-D` (A…D blocks per stage).
 */
export function createBackbone(name: string, options: BackboneOptions): tf.LayersModel {
  const layers = iresnetLayers(name);
  if (layers !== undefined) return iresnet(layers, options);
  const build = Object.hasOwn(builders, name) ? builders[name] : undefined;
  if (!build) {
    throw new UnknownNameError('backbone', name, [
      ...Object.keys(builders),
      'iresnet18|34|50|100|200',
      'iresnet-A-B-C-D',
    ]);
  }
  return build(options);
}
