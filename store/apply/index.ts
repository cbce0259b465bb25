export * from './apply.js';
export {
  parseDocuments,
  objectDocuments,
  type ApplySource,
  type ParsedDocument,
  type ParsedDocuments,
  type ParseOptions,
  type Position,
} from './parse.js';
