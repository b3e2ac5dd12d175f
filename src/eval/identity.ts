/** Identity of an image identifier, for identification from embedding files. */

/**
 * The identity an image identifier belongs to: the part before the first `/` (LFW's
 * `name/name_0001`), or, without a `/`, the identifier minus a trailing `_digits` (`name_0001`).
 */
export function identityOf(imageId: string): string {
  const slash = imageId.indexOf('/');
  if (slash >= 0) return imageId.slice(0, slash);
  return imageId.replace(/_\d+$/, '');
}
