import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headNames, resolveParams } from '../src/heads/registry.js';

const notes = join(import.meta.dirname, '..', 'docs', 'losses');

/** `createHead('name', { ... })` calls with literal object arguments, as written in the notes. */
function createHeadCalls(markdown: string): { name: string; params: string }[] {
  const calls: { name: string; params: string }[] = [];
  const re = /createHead\('([a-z-]+)'(?:,\s*(\{[^()]*?\}))?\)/g;
  for (const m of markdown.matchAll(re)) calls.push({ name: m[1], params: m[2] ?? '{}' });
  return calls;
}

describe('loss notes', () => {
  it.each(headNames)('%s has a note that links its boundary picture', (name) => {
    const path = join(notes, `${name}.md`);
    expect(existsSync(path), `${path} is missing`).toBe(true);
    const text = readFileSync(path, 'utf8');
    if (name !== 'amsoftmax') expect(text).toContain(`img/${name}.svg`);
  });

  it('every createHead(...) example in the notes is accepted by the head it names', () => {
    let checked = 0;
    for (const name of headNames) {
      const text = readFileSync(join(notes, `${name}.md`), 'utf8');
      for (const call of createHeadCalls(text)) {
        let params: unknown;
        try {
          // The examples are object literals with unquoted keys: evaluate them as JavaScript.
          params = new Function(`return (${call.params});`)();
        } catch {
          continue; // placeholders such as `{ … }`
        }
        expect(
          () => resolveParams(call.name, params),
          `${name}.md: createHead('${call.name}', ${call.params})`,
        ).not.toThrow();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });
});
