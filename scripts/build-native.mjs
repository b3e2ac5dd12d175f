#!/usr/bin/env node
// Builds the optional native engine (binding.gyp → build/Release/faceverloss.node) during `npm install`.
//
// node-gyp is the copy bundled with npm (npm passes its path in npm_config_node_gyp and its settings,
// such as nodedir, in npm_config_* variables), so this must run as an npm script: `npm install`,
// `npm ci` or `npm run build:native`. A failed build never fails the install: the library then runs on
// its JavaScript paths, and says so once if someone asks for the native engine. The compiler output is
// kept in build/native-build.log.
//
// binding.gyp also builds the optional MPI addon (faceverloss_mpi.node, for model-parallel heads) when
// pkg-config finds Open MPI or MPICH; FACEVERLOSS_MPI=0 leaves it out.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const logPath = join(root, 'build', 'native-build.log');

if (process.env.FACEVERLOSS_SKIP_NATIVE === '1') {
  console.log('faceverloss: FACEVERLOSS_SKIP_NATIVE=1, not building the native engine');
  process.exit(0);
}

const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const started = Date.now();
const build = (env) =>
  spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    shell: !gyp && process.platform === 'win32',
    env,
  });
const describe = (r) =>
  `${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
let result = build(process.env);
let log = describe(result);
// The optional MPI addon (built when pkg-config finds MPI) must never cost the engine: if the build
// failed, try once more without it.
if (result.status !== 0 && process.env.FACEVERLOSS_MPI !== '0') {
  const again = build({ ...process.env, FACEVERLOSS_MPI: '0' });
  log += `\n--- again without the MPI addon (FACEVERLOSS_MPI=0) ---\n${describe(again)}`;
  if (again.status === 0)
    console.warn('faceverloss: the MPI addon did not build; the engine was built without it');
  result = again;
}
try {
  mkdirSync(dirname(logPath), { recursive: true });
  writeFileSync(logPath, log);
} catch {
  // The log is a convenience; a read-only tree must not turn a good build into a failed install.
}

if (result.status === 0) {
  console.log(`faceverloss: native engine built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} else {
  console.warn(
    `faceverloss: native engine not built (${result.error ? result.error.message : `node-gyp exited with ${result.status}`}); ` +
      `using the JavaScript implementation. Details: ${logPath}`,
  );
  if (process.env.FACEVERLOSS_REQUIRE_NATIVE === '1') process.stderr.write(log);
}
process.exit(0);
