/**
 * The table of `faceverloss compare`: one row per head, shared by the terminal / summary.md text and the
 * comparison page, and the schema of the rows as stored in summary.json.
 */
import { z } from 'zod';
import { farLabel } from '../eval/index.js';

/** One row of the comparison, as stored in summary.json. */
export const compareRowSchema = z.object({
  head: z.string(),
  trainAccuracy: z.number(),
  verificationAccuracy: z.number(),
  auc: z.number(),
  eer: z.number(),
  /** TAR at low FARs over every held-out pair; `tar` is absent where that FAR was not resolvable. */
  tarAtFar: z.array(z.object({ far: z.number(), tar: z.number().optional() })).optional(),
  /** Held-out angular statistics (radians; see angularStatistics), when the embeddings were measured. */
  intraAngle: z.number().optional(),
  interAngle: z.number().optional(),
  separation: z.number().optional(),
  seconds: z.number(),
});

/** One row of the comparison. */
export type CompareRow = z.infer<typeof compareRowSchema>;

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const deg = (v: number | undefined) => (v === undefined ? '–' : `${((v * 180) / Math.PI).toFixed(1)}°`);

/** Column titles and formatted cells of the comparison. */
export function compareTableCells(rows: readonly CompareRow[]): { header: string[]; body: string[][] } {
  // The FARs of the first row that has any; rows measured without them show a dash.
  const fars = rows.find((r) => r.tarAtFar !== undefined)?.tarAtFar?.map((t) => t.far) ?? [];
  const tarCell = (r: CompareRow, far: number) => {
    const tar = r.tarAtFar?.find((t) => t.far === far)?.tar;
    return tar === undefined ? '–' : pct(tar);
  };
  const header = [
    'head',
    'train acc',
    'held-out verif. acc',
    'AUC',
    'EER',
    ...fars.map((far) => `TAR@FAR ${farLabel(far)}`),
    'intra angle',
    'min inter angle',
    'separation',
    'time',
  ];
  const body = rows.map((r) => [
    r.head,
    pct(r.trainAccuracy),
    pct(r.verificationAccuracy),
    r.auc.toFixed(4),
    pct(r.eer),
    ...fars.map((far) => tarCell(r, far)),
    deg(r.intraAngle),
    deg(r.interAngle),
    r.separation === undefined ? '–' : r.separation.toFixed(2),
    `${r.seconds.toFixed(1)} s`,
  ]);
  return { header, body };
}

/** The comparison as a fixed-width text table. */
export function formatCompareTable(rows: readonly CompareRow[]): string {
  const { header, body } = compareTableCells(rows);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return `${[line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')}\n`;
}
