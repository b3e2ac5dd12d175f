import { describe, expect, it } from 'vitest';
import { createDataset, memorySource } from '../../src/data/dataset.js';
import { splitPerClass, subsetDataset } from '../../src/data/subset.js';
import { InvalidArgumentError } from '../../src/errors.js';

// Eight 1×1 grey images whose pixel is 10·index; labels 0,1,0,1,2,0,1,2.
const labels = Int32Array.from([0, 1, 0, 1, 2, 0, 1, 2]);
const parent = createDataset(
  memorySource(
    { height: 1, width: 1, channels: 1 },
    Uint8Array.from(labels, (_, i) => 10 * i),
    labels,
    (i) => `p${i}`,
  ),
  { name: 'toy', numClasses: 3, labels },
);

describe('subsetDataset', () => {
  it('reads the chosen samples in the chosen order', async () => {
    const sub = subsetDataset(parent, [5, 0, 7]);
    expect(sub.size).toBe(3);
    expect(Array.from(sub.labels!)).toEqual([0, 0, 2]);
    const s = await sub.read(2);
    expect(s).toMatchObject({ id: 'p7', label: 2 });
    expect(s.pixels[0]).toBe(70);
    const ids: string[] = [];
    for await (const b of sub.batches({ batchSize: 2, shuffle: false })) ids.push(...b.ids);
    expect(ids).toEqual(['p5', 'p0', 'p7']);
  });

  it('rejects indices outside the parent', () => {
    expect(() => subsetDataset(parent, [8])).toThrow(InvalidArgumentError);
    expect(() => subsetDataset(parent, [1.5])).toThrow(InvalidArgumentError);
  });
});

describe('splitPerClass', () => {
  it('keeps the first n of each class for training and holds out the rest', async () => {
    const { train, heldout } = splitPerClass(parent, 2);
    // Class 0 at 0,2,5; class 1 at 1,3,6; class 2 at 4,7.
    const idsOf = async (ds: typeof train) => {
      const out: string[] = [];
      for (let i = 0; i < ds.size!; i++) out.push((await ds.read(i)).id);
      return out;
    };
    expect(await idsOf(train)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p7']);
    expect(await idsOf(heldout)).toEqual(['p5', 'p6']);
    expect(heldout.numClasses).toBe(3);
  });
});
