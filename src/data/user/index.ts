/** The user's own data and deletion requests (issue 17): loaders, the dispatcher, the resolver. */
export {
  CSV_ENCODING_FORMAT,
  type CsvColumnEncoding,
  type CsvDataset,
  type CsvEncoding,
  type CsvOptions,
  type CsvSource,
  loadCsv,
  parseCsvEncoding,
} from './csv.ts';
export {
  type ForgetFile,
  type ForgetRecord,
  type ForgetRequest,
  type ForgetResolution,
  parseForgetWhere,
  readForgetFile,
  resolveForgetRequest,
} from './forget-request.ts';
export { type IdxPairOptions, loadIdxPairFiles } from './idx-pair.ts';
export { type ImageFolderOptions, loadImageFolder } from './image-folder.ts';
export { loadUserData, type UserDataOptions } from './load.ts';
export { loadNpyPair, type NpyPairOptions, parseNpy } from './npy.ts';
export { loadNpz } from './npz.ts';
export {
  type FileDigest,
  isUserSource,
  type UserDataset,
  type UserFormat,
  type UserSource,
} from './types.ts';
