/**
 * `faceverloss/tf` runs in a browser: the modules it loads import no Node built-in and nothing of the
 * native engine. The check walks the import graph from src/tf/index.ts statically (TypeScript's parser,
 * value imports and dynamic `import()` alike; type-only imports are erased and do not count) and fails
 * naming the file and the import that breaks it.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Specifiers a module loads at run time (value imports, re-exports and `import()` calls). */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.importClause?.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0
    ) {
      const arg = node.arguments[0];
      // A computed specifier cannot be checked statically: report it as such.
      out.push(ts.isStringLiteral(arg) ? arg.text : `<computed import in ${file}>`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every source file reached from `entry`, with the bare and built-in specifiers each one imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const external: string[] = [];
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith('.')) pending.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else external.push(spec);
    }
    graph.set(file, external);
  }
  return graph;
}

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
