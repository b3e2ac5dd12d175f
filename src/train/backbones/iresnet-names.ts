/** IResNet backbone names (no TF.js here: the configuration schema reads them). */

/** Blocks per stage of insightface's named depths. */
export const IRESNET_DEPTHS: Readonly<Record<string, readonly [number, number, number, number]>> = {
  iresnet18: [2, 2, 2, 2],
  iresnet34: [3, 4, 6, 3],
  iresnet50: [3, 4, 14, 3],
  iresnet100: [3, 13, 30, 3],
  iresnet200: [6, 26, 60, 6],
};

/** `iresnet-A-B-C-D`: any number of blocks per stage. */
export const IRESNET_CUSTOM = /^iresnet-([1-9]\d{0,2})-([1-9]\d{0,2})-([1-9]\d{0,2})-([1-9]\d{0,2})$/;

/** Blocks per stage of an IResNet backbone name, or undefined for another name. */
export function iresnetLayers(name: string): readonly number[] | undefined {
  if (Object.hasOwn(IRESNET_DEPTHS, name)) return IRESNET_DEPTHS[name];
  const m = IRESNET_CUSTOM.exec(name);
  return m ? m.slice(1).map(Number) : undefined;
}
