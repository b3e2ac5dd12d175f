/**
 * Pictures: decision boundaries of every head (computed by the head's own margin code), feature
 * distributions, ROC and training curves, as SVG / PNG / GIF, and a self-contained HTML run report.
 */
export {
  type Boundary,
  type BoundaryOptions,
  type BoundaryPoint,
  type BoundarySpace,
  computeBoundary,
  logitDifference,
  spaceRange,
  type WinningInterval,
} from './boundary.js';
export {
  boundaryChart,
  galleryChart,
  type HeadBoundaries,
  type HeadBoundaryCurve,
  type HeadBoundaryOptions,
  headBoundaries,
  type NegativeSweep,
  sweepNegatives,
} from './boundary-chart.js';
export {
  type CompareFigures,
  type CompareFiguresOptions,
  type CompareRun,
  writeCompareFigures,
} from './compare-figures.js';
export {
  type CompareRow,
  compareRowSchema,
  compareTableCells,
  formatCompareTable,
} from './compare-table.js';
export { curvesChart, metricNames } from './curves-chart.js';
export {
  type EmbeddingSnapshot,
  embeddingsDir,
  listEmbeddingSnapshots,
  readEmbeddingSnapshot,
  snapshotFileName,
  validateSnapshot,
  writeEmbeddingSnapshot,
} from './embeddings-file.js';
export { featuresGif } from './features-animation.js';
export { classDirections, type FeaturesChartOptions, featuresChart } from './features-chart.js';
export { encodeGif } from './gif.js';
export {
  type BoundaryFormula,
  type BoundaryVariant,
  type HeadPicture,
  headPicture,
  type VariantsOf,
} from './head-pictures.js';
export { type MetricsRecord, parseMetrics, readMetrics } from './metrics-file.js';
export { formatOf, type ImageFormat, writeChart, writeFileAtomic } from './output.js';
export {
  FONT_FAMILY,
  fontPath,
  type RasterOptions,
  type RgbaImage,
  renderSvg,
  svgToPng,
  svgToRgba,
  type VegaLiteSpec,
} from './render.js';
export { runReportHtml, writeRunReport } from './report.js';
export { type NamedRoc, rocChart, rocFromScoresFile, thinRoc } from './roc-chart.js';
