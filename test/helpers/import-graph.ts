/**
 * What a module loads at run time, followed through the source tree: TypeScript's parser finds value
 * imports, re-exports and dynamic `import()` calls (type-only imports are erased and do not count).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** Specifiers a module loads at run time (value imports, re-exports and `import()` calls). */
export function runtimeImports(file: string): string[] {
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
export function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [resolve(entry)];
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

/** Package names (`@scope/name` or `name`) loaded from `entry`, Node built-ins included. */
export function packagesReachedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  for (const specs of importGraph(entry).values()) {
    for (const spec of specs) {
      const parts = spec.split('/');
      packages.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
    }
  }
  return packages;
}
