/**
 * Straightforward O(n²) implementations written directly from the definitions in
 * docs/evaluation.md. The fast implementations are checked against them on random score sets
 * (with many ties), so a subtle sweep bug cannot hide behind a handful of hand-worked examples.
 */

/** P(score⁺ > score⁻) + ½·P(score⁺ = score⁻) over all same/different pairs. */
export function referenceAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let P = 0;
  let N = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] === 1) P++;
    else N++;
  }
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / (P * N);
}

/** ROC points (fpr, tpr) for +∞ and then every distinct score, by counting from scratch. */
export function referenceRoc(
  scores: number[],
  labels: number[],
): { fpr: number[]; tpr: number[]; thr: number[] } {
  const thr = [Number.POSITIVE_INFINITY, ...[...new Set(scores)].sort((a, b) => b - a)];
  const P = labels.filter((y) => y === 1).length;
  const N = labels.length - P;
  const fpr: number[] = [];
  const tpr: number[] = [];
  for (const t of thr) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) {
        if (labels[i] === 1) tp++;
        else fp++;
      }
    });
    fpr.push(fp / N);
    tpr.push(tp / P);
  }
  return { fpr, tpr, thr };
}

/** Largest TPR among ROC points with FPR ≤ far. */
export function referenceTar(scores: number[], labels: number[], far: number): number {
  const roc = referenceRoc(scores, labels);
  let best = 0;
  roc.fpr.forEach((f, i) => {
    if (f <= far) best = Math.max(best, roc.tpr[i]);
  });
  return best;
}

/** k-fold accuracy exactly as defined: contiguous folds, every distinct training score tried. */
export function referenceKFold(
  scores: number[],
  labels: number[],
  K = 10,
): { accuracies: number[]; thresholds: number[] } {
  const n = scores.length;
  const accuracies: number[] = [];
  const thresholds: number[] = [];
  for (let k = 0; k < K; k++) {
    const lo = Math.floor((k * n) / K);
    const hi = Math.floor(((k + 1) * n) / K);
    const train = [...Array(n).keys()].filter((i) => i < lo || i >= hi);
    const test = [...Array(n).keys()].filter((i) => i >= lo && i < hi);
    const correct = (idx: number[], t: number) =>
      idx.filter((i) => (scores[i] >= t ? labels[i] === 1 : labels[i] === 0)).length;
    let best = -1;
    let bestT = Number.NaN;
    for (const t of [...new Set(train.map((i) => scores[i]))]) {
      const c = correct(train, t);
      if (c > best || (c === best && t < bestT)) {
        best = c;
        bestT = t;
      }
    }
    thresholds.push(bestT);
    accuracies.push(correct(test, bestT) / test.length);
  }
  return { accuracies, thresholds };
}
