/**
 * The packages only some features need (TF.js, image decoding, the bundled digits, the picture stack)
 * are optional peers: installing faceverloss for its heads, margin operator and metrics does not pull
 * them in. Here they are named, and a module-not-found error for one of them becomes a
 * {@link MissingPackageError} that says what to install.
 */
import { createRequire } from 'node:module';
import { MissingPackageError } from './errors.js';

const require = createRequire(import.meta.url);

/** The optional peers, with the version range the package declares for each (its package.json). */
export function optionalPackages(): Readonly<Record<string, string>> {
  const manifest = require('../package.json') as { peerDependencies?: Record<string, string> };
  return manifest.peerDependencies ?? {};
}

/** The optional package a module-not-found error is about, or undefined for any other error. */
export function missingOptionalPackage(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const match = /Cannot find (?:package|module) '([^']+)'/.exec(err.message);
  if (match === null) return undefined;
  const specifier = match[1];
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return name in optionalPackages() ? name : undefined;
}

/** `npm install NAME@RANGE` for an optional peer. */
export function installCommand(packageName: string): string {
  const range = optionalPackages()[packageName];
  return `npm install ${range === undefined ? packageName : `${packageName}@${range}`}`;
}

/** The typed error for `feature` when `err` is a missing optional package; `err` itself otherwise. */
export function asMissingPackage(feature: string, err: unknown): unknown {
  const name = missingOptionalPackage(err);
  return name === undefined ? err : new MissingPackageError(feature, name, installCommand(name));
}

/** require.resolve of a file inside an optional package, with the typed error when it is absent. */
export function resolveOptionalFile(feature: string, specifier: string): string {
  try {
    return require.resolve(specifier);
  } catch (err) {
    throw asMissingPackage(feature, err);
  }
}
