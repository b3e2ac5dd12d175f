/** RecordIO: framing, image-record headers, index files, reading, writing and insightface datasets. */
export { RecordIOFile } from './file.js';
export {
  type ByteSource,
  type FramedRecord,
  frameRecord,
  MAX_RECORD_BYTES,
  RECORDIO_MAGIC,
  readFramedRecord,
} from './framing.js';
export { formatRecordIndex, parseRecordIndex, type RecordIndex } from './index-file.js';
export {
  type InsightfaceLayout,
  openInsightfaceRecordIO,
  type RecordIODatasetOptions,
  readIdentityRanges,
  readInsightfaceLayout,
} from './insightface.js';
export {
  IR_HEADER_SIZE,
  type IRHeader,
  packIRHeader,
  type UnpackedRecord,
  unpackIRHeader,
} from './ir-header.js';
export { RecordIOWriter, writeInsightfaceRecordIO, writeRecordIO } from './writer.js';
