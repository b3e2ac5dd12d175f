/**
 * Everything about a head lives in its file under src/heads: no source file elsewhere names a registered
 * head as a string literal (`head === 'magface'`) or keys a table by head name (`{ arcface: … }`).
 * Comments, prose (help text, error messages that contain a name among other words) and tests are free
 * to name heads. The few allowed literals are choices of a default, not knowledge of a head.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { headNames } from '../../src/heads/registry.js';

const ROOT = join(import.meta.dirname, '../..');

/** file → the head names it may spell out, and why. */
const ALLOWED: Record<string, { names: string[]; why: string }> = {
  'src/train/config.ts': { names: ['arcface'], why: 'the default head of a training run' },
  'src/cli/demo.ts': { names: ['arcface'], why: 'the head the demo trains' },
  'src/cli/shared-start.ts': { names: ['softmax'], why: 'the shared start of compare is plain softmax' },
  'web/src/default-heads.ts': {
    names: ['arcface', 'softmax', 'cosface'],
    why: 'the heads the page opens with',
  },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry) && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

/** Head names a file spells out as string literals or as object keys, with their line numbers. */
function headMentions(path: string, names: ReadonlySet<string>): { name: string; line: number }[] {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: { name: string; line: number }[] = [];
  const note = (node: ts.Node, name: string) => {
    if (names.has(name))
      found.push({ name, line: file.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) note(node, node.text);
    else if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) note(node.name, node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('one head, one place', () => {
  const names = new Set(headNames);
  const files = ['src', 'web/src']
    .flatMap((dir) => sourceFiles(join(ROOT, dir)))
    .map((path) => relative(ROOT, path).split('\\').join('/'))
    .filter((path) => !path.startsWith('src/heads/'));

  it('walks the sources outside src/heads', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('src/golden/anchors.ts');
    expect(files).toContain('web/src/explorer/view.ts');
  });

  it('finds a head name where one is spelt out (the check can fail)', () => {
    const probe = join(ROOT, 'web/src/default-heads.ts');
    expect(headMentions(probe, names).map((m) => m.name)).toContain('arcface');
  });

  it('no source file outside src/heads names a head, except the allowed defaults', () => {
    const offending = files.flatMap((path) => {
      const allowed = new Set(ALLOWED[path]?.names ?? []);
      return headMentions(join(ROOT, path), names)
        .filter((m) => !allowed.has(m.name))
        .map((m) => `${path}:${m.line} '${m.name}'`);
    });
    expect(offending).toEqual([]);
  });
});
