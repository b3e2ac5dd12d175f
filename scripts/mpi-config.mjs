#!/usr/bin/env node
// Tells binding.gyp whether, and how, to build the optional MPI addon (faceverloss_mpi.node): it is built
// when pkg-config finds Open MPI (`ompi-c`) or MPICH (`mpich`), unless FACEVERLOSS_MPI=0. Never fails:
// without MPI it answers `0` and empty flags, and the rest of the engine builds as before.
//
//   node scripts/mpi-config.mjs available|cflags|libs
import { spawnSync } from 'node:child_process';

const what = process.argv[2];

function pkgConfig(args) {
  const r = spawnSync('pkg-config', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function findPackage() {
  if (process.env.FACEVERLOSS_MPI === '0') return null;
  for (const name of ['ompi-c', 'mpich']) if (pkgConfig(['--exists', name]) !== null) return name;
  return null;
}

const pkg = findPackage();
let out = '';
if (what === 'available') out = pkg ? '1' : '0';
else if (pkg && what === 'cflags') out = pkgConfig(['--cflags', pkg]) ?? '';
else if (pkg && what === 'libs') {
  // The library directory goes into the addon's run path, so an MPI outside the loader's default paths
  // (/opt, a module system's prefix) is found at load time without LD_LIBRARY_PATH.
  const libdir = pkgConfig(['--variable=libdir', pkg]);
  out = `${pkgConfig(['--libs', pkg]) ?? ''}${libdir ? ` -Wl,-rpath,${libdir}` : ''}`;
}
process.stdout.write(`${out}\n`);
