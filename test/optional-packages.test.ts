/**
 * The optional peers: what the core entries may import, and how a missing one is reported.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingPackageError } from '../src/errors.js';
import {
  asMissingPackage,
  installCommand,
  missingOptionalPackage,
  optionalPackages,
  resolveOptionalFile,
} from '../src/optional-packages.js';
import { packagesReachedFrom } from './helpers/import-graph.js';

const root = resolve(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

function moduleNotFound(specifier: string, code = 'ERR_MODULE_NOT_FOUND'): Error {
  return Object.assign(new Error(`Cannot find package '${specifier}' imported from /x/y.js`), { code });
}

describe('optional peers', () => {
  it('are all optional, pinned exactly, and installed in the repository as dev dependencies', () => {
    const peers = Object.keys(manifest.peerDependencies);
    expect(peers.length).toBeGreaterThan(0);
    for (const name of peers) {
      expect(manifest.peerDependenciesMeta[name]?.optional, name).toBe(true);
      expect(manifest.peerDependencies[name], name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(manifest.devDependencies[name], name).toBe(manifest.peerDependencies[name]);
      expect(manifest.dependencies[name], name).toBeUndefined();
    }
    expect(optionalPackages()).toEqual(manifest.peerDependencies);
  });

  it('the heads, the margin operator, the metrics and the engine import none of them', () => {
    const optional = new Set(Object.keys(manifest.peerDependencies));
    for (const entry of ['src/index.ts', 'src/eval/index.ts', 'src/engine/index.ts', 'src/golden/index.ts']) {
      const reached = [...packagesReachedFrom(resolve(root, entry))].filter((p) => optional.has(p));
      expect(reached, entry).toEqual([]);
    }
    // The TF.js layer needs TF.js itself and nothing else of them.
    const tfLayer = [...packagesReachedFrom(resolve(root, 'src/tf/index.ts'))].filter((p) => optional.has(p));
    expect(tfLayer).toEqual(['@tensorflow/tfjs']);
  });

  it('a module-not-found error for an optional peer names it; other errors pass through', () => {
    expect(missingOptionalPackage(moduleNotFound('vega'))).toBe('vega');
    expect(missingOptionalPackage(moduleNotFound('@tensorflow/tfjs/dist/index.js'))).toBe('@tensorflow/tfjs');
    expect(missingOptionalPackage(moduleNotFound('sharp', 'MODULE_NOT_FOUND'))).toBe('sharp');
    expect(missingOptionalPackage(moduleNotFound('left-pad'))).toBeUndefined();
    expect(missingOptionalPackage(new Error("Cannot find package 'vega'"))).toBeUndefined();
    const other = new RangeError('boom');
    expect(asMissingPackage('x', other)).toBe(other);
  });

  it('the typed error says what to install, with the declared version', () => {
    const err = asMissingPackage("the 'plot' command", moduleNotFound('vega-lite'));
    expect(err).toBeInstanceOf(MissingPackageError);
    expect((err as MissingPackageError).packageName).toBe('vega-lite');
    expect((err as Error).message).toContain(
      `npm install vega-lite@${manifest.peerDependencies['vega-lite']}`,
    );
    expect((err as Error).message).toContain("the 'plot' command");
    expect(installCommand('not-a-peer')).toBe('npm install not-a-peer');
  });

  it('resolves files of installed peers and reports a missing one with the typed error', () => {
    expect(resolveOptionalFile('pictures', 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf')).toMatch(
      /DejaVuSans\.ttf$/,
    );
    // A file that does not exist inside an installed peer is an ordinary module-not-found error for
    // that peer: the same path a missing package takes.
    expect(() => resolveOptionalFile('pictures', 'dejavu-fonts-ttf/ttf/NoSuchFont.ttf')).toThrow(
      MissingPackageError,
    );
  });
});
