/**
 * uib's public API: what a program needs to make a tfjs model forget data and show the evidence.
 * Everything else in `src/` is internal and may change. docs/api.md documents each export with a
 * runnable example (examples/, executed by the tests).
 *
 *   import { initBackend, datasetFromArrays, buildModel, trainModel, unlearn, evaluateAll } from 'uib';
 */

import { setStepProgress } from './train/progress.ts';
import { terminalStepProgress } from './train/progress-terminal.ts';

// On Node, training shows a progress bar on a terminal (stderr), as the CLI does.
setStepProgress(terminalStepProgress);

// The compute backend (call once, first).
export { type ComputeEnvironment, computeEnvironment } from './backend/environment.ts';
export { BACKENDS, type BackendName, initBackend } from './backend/index.ts';
// Verification of an unlearned checkpoint against its record (what `uib verify` prints).
export { runVerify as verify } from './cli/commands/verify.ts';
// Errors: bad input is a UsageError (what and where), a blown-up run a DivergenceError.
export { DivergenceError, UsageError } from './core/errors.ts';
export { Rng, rngFor } from './core/rng.ts';
// Data: views over samples, the shipped data sets, forget scenarios and their manifests.
export { type DataSource, Dataset, datasetFromArrays } from './data/dataset.ts';
export { DATASET_IDS, loadDataset } from './data/registry.ts';
export {
  createScenario,
  type Manifest,
  materialiseScenario,
  readManifest,
  type Scenario,
  type ScenarioRequest,
  writeManifest,
} from './data/scenarios/index.ts';
// Data of your own: loaders by layout (image folder, .npy, IDX, CSV, .npz), deletion requests.
export {
  type CsvEncoding,
  type ForgetRecord,
  type ForgetRequest,
  type ForgetResolution,
  loadUserData,
  parseForgetWhere,
  resolveForgetRequest,
  type UserDataOptions,
  type UserDataset,
  type UserSource,
} from './data/user/index.ts';
// Evaluation: one record of every applicable metric; the Retrain-ensemble reading; shadow metrics.
export { compareToEnsemble, type EnsembleComparison } from './eval/ensemble.ts';
export { type EvalRecord, evaluateAll } from './eval/evaluate.ts';
export { predictSet } from './eval/predict.ts';
export { METRIC_IDS, METRICS } from './eval/registry.ts';
export {
  challengeScore,
  klom,
  type ShadowStats,
  ulira,
} from './eval/shadow.ts';
export type { EvalInput, EvalSets, MetricValue, SetPredictions } from './eval/types.ts';
// The evidence of a deletion on your own model (what `uib unlearn --model` and `uib eval` write).
export {
  buildEvidence,
  type Evidence,
  type EvidenceInput,
  EvidenceSchema,
  renderEvidenceHtml,
} from './experiments/evidence.ts';
// Experiments: the runner behind `uib run`.
export { type RunOptions, type RunOutcome, runExperiment } from './experiments/runner.ts';
export { type Experiment, loadExperiment, parseExperiment } from './experiments/schema.ts';
// Models: uib's architectures and checkpoints.
export { type CheckpointMeta, loadCheckpoint, saveCheckpoint } from './models/checkpoint.ts';
export {
  checkSupported,
  describeModel,
  logitsTwin,
  type ModelDescription,
  restoreOutputActivation,
  SUPPORTED_LAYERS,
} from './models/describe.ts';
export { buildModel, cloneModel, type ModelSpec } from './models/index.ts';
// Models of your own: tfjs's file layout read (every check) and written.
export { layersModelFileHandler, loadLayersModelFile } from './models/user-model.ts';
export { type SavedLayersModel, saveLayersModelFile } from './models/user-model-save.ts';
// Training: the one training loop's front door and the default recipes.
export { defaultRecipe, trainModel } from './train/train.ts';
export type { TrainRecipe } from './train/types.ts';
// Unlearning: every method by id (`+uib` variants included), their parameters, the record.
export {
  type OwnDeletionRecord,
  readOwnDeletionRecord,
  writeOwnDeletionRecord,
} from './unlearn/own-record.ts';
export {
  type DeletionRecord,
  readDeletionRecord,
  writeDeletionRecord,
} from './unlearn/record.ts';
export {
  getMethod,
  listMethods,
  paramFields,
  parseParams,
  type UnlearnInputs,
  unlearn,
} from './unlearn/registry.ts';
export type { UnlearnMethod, UnlearnResult } from './unlearn/types.ts';
export { type FisherCacheSource, fisherCacheIn } from './unlearn/uib/fisher-cache.ts';
