/**
 * `faceverloss/tf` runs in a browser: the modules it loads import no Node built-in and nothing of the
 * native engine. The check walks the import graph from src/tf/index.ts statically (test/helpers/
 * import-graph.ts) and fails naming the file and the import that breaks it.
 */
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph } from '../helpers/import-graph.js';

const root = resolve(import.meta.dirname, '../..');

const builtins = new Set(builtinModules);
/** Modules a browser cannot load: Node built-ins and the native engine (addon or its wrappers). */
function browserProblem(file: string, spec: string): string | undefined {
  if (spec.startsWith('node:') || builtins.has(spec)) return `Node built-in '${spec}'`;
  if (spec.startsWith('<computed')) return spec;
  if (spec === 'node-addon-api' || spec.endsWith('.node')) return `native addon '${spec}'`;
  const rel = relative(join(root, 'src'), file);
  if (/^(engine|kernels|node)\//.test(rel)) return `Node-only module src/${rel}`;
  return undefined;
}

describe('faceverloss/tf in a browser', () => {
  const graph = importGraph(join(root, 'src/tf/index.ts'));

  it('reaches the TF.js layer, the heads and the operator (the walk follows imports)', () => {
    const files = [...graph.keys()].map((f) => relative(root, f));
    expect(files).toContain('src/tf/layer.ts');
    expect(files).toContain('src/heads/registry.ts');
    expect(files).toContain('src/heads/magface.ts');
    expect(files).toContain('src/margin/reference.ts');
    expect([...graph.values()].flat()).toContain('@tensorflow/tfjs');
  });

  it('imports no Node built-in, native addon or Node-only module', () => {
    const problems: string[] = [];
    for (const [file, specs] of graph) {
      const own = browserProblem(file, '');
      if (own) problems.push(own);
      for (const spec of specs) {
        const p = browserProblem(file, spec);
        if (p) problems.push(`${relative(root, file)}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the check itself flags what faceverloss/node imports', () => {
    const node = importGraph(join(root, 'src/node/index.ts'));
    const flagged = [...node].flatMap(([file, specs]) => specs.filter((s) => browserProblem(file, s)));
    expect(flagged).toContain('node:fs');
    expect(flagged).toContain('node:module');
  });
});
