/**
 * `npm run bench -- [name] [options]`: runs one benchmark, or all of them in turn when no name is given.
 * Each benchmark is a module exporting `run(argv)`; add it to the table below.
 */
type Bench = { run(argv: string[]): Promise<void> };

const benches: Record<string, { about: string; load: () => Promise<Bench> }> = {
  gemm: { about: 'native SGEMM on the three products of a face-head step', load: () => import('./gemm.js') },
  train: {
    about:
      'LeNet++ / MobileFaceNet / resnet-lite training images/s: ours vs plain tfjs cpu (and PyTorch with --torch)',
    load: () => import('./train.js'),
  },
  head: {
    about: 'one face-head training step: native fused margin softmax vs TF.js cpu',
    load: () => import('./head.js'),
  },
  eval: {
    about: 'verification metrics on 10 M scores, pair cosines, file readers',
    load: () => import('./eval.js'),
  },
  data: {
    about: 'data pipeline: decoding, batching and prefetch throughput',
    load: () => import('./data.js'),
  },
};

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    console.log('usage: npm run bench -- [name] [options]\n');
    for (const [name, b] of Object.entries(benches)) console.log(`  ${name.padEnd(8)} ${b.about}`);
    return;
  }
  if (first === undefined || first.startsWith('-')) {
    for (const [name, b] of Object.entries(benches)) {
      console.log(`== ${name} ==`);
      await (await b.load()).run(argv);
    }
    return;
  }
  const bench = benches[first];
  if (bench === undefined) {
    console.error(`unknown benchmark '${first}': expected one of ${Object.keys(benches).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  await (await bench.load()).run(rest);
}

await main(process.argv.slice(2));
