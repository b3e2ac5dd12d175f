/**
 * The page and its training worker load only browser-safe modules: no Node built-in, nothing of the
 * native engine or of faceverloss/node; the worker trains through faceverloss/tf (src/tf/index.ts).
 */
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeImports } from '../helpers/import-graph.js';

const root = resolve(import.meta.dirname, '../..');
const builtins = new Set(builtinModules);

/** Files reached from `entry` and the external specifiers each imports (Vite queries stripped). */
function pageGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const external: string[] = [];
    for (const spec of runtimeImports(file)) {
      const path = spec.replace(/\?.*$/, '');
      if (path.endsWith('.css')) continue;
      if (path.startsWith('.')) pending.push(resolve(dirname(file), path.replace(/\.js$/, '.ts')));
      else external.push(path);
    }
    graph.set(file, external);
  }
  return graph;
}

function problems(graph: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [file, specs] of graph) {
    const rel = relative(root, file);
    if (/^src\/(engine|kernels|node)\//.test(rel)) out.push(`Node-only module ${rel}`);
    for (const spec of specs) {
      if (spec.startsWith('node:') || builtins.has(spec)) out.push(`${rel}: Node built-in '${spec}'`);
    }
  }
  return out;
}

describe('the web page in a browser', () => {
  const page = pageGraph(join(root, 'web/src/main.ts'));
  const worker = pageGraph(join(root, 'web/src/train/train.worker.ts'));

  it('reaches the worker and trains through faceverloss/tf', () => {
    expect(page.has(join(root, 'web/src/train/train.worker.ts'))).toBe(true);
    expect(worker.has(join(root, 'src/tf/index.ts'))).toBe(true);
    expect(worker.has(join(root, 'src/tf/layer.ts'))).toBe(true);
  });

  it('imports no Node built-in or Node-only module', () => {
    expect(problems(page)).toEqual([]);
    expect(problems(worker)).toEqual([]);
  });
});
