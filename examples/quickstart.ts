// The same as quickstart.mjs, typed: tsc checks it against the package's .d.ts (the tests do).
import {
  buildModel,
  datasetFromArrays,
  type EvalRecord,
  initBackend,
  listMethods,
  type ModelSpec,
  type TrainRecipe,
  trainModel,
  type UnlearnInputs,
  unlearn,
} from 'uib';

export async function forgetClass(x: Float32Array, y: Int32Array, k: number): Promise<number> {
  await initBackend('cpu');
  const data = datasetFromArrays({ x, y, sampleShape: [2], numClasses: 3 });
  const positions = [...Array(y.length).keys()];
  const forget = data.subset(positions.filter((i) => y[i] === k));
  const retain = data.subset(positions.filter((i) => y[i] !== k));
  const spec: ModelSpec = { arch: 'mlp', inputShape: [2], numClasses: 3, hidden: [8], seed: 1 };
  const recipe: TrainRecipe = {
    optimizer: { name: 'adam', lr: 0.02 },
    epochs: 5,
    batchSize: 32,
    seed: 1,
  };
  const original = buildModel(spec);
  await trainModel(original, data, recipe, { quiet: true });
  const inputs: UnlearnInputs = { original, spec, recipe, data: { retain, forget }, seed: 1 };
  const r = await unlearn('uib-if', inputs, { steps: 5 });
  const ids: string[] = listMethods().map((m) => m.id);
  const record: EvalRecord | undefined = undefined;
  void record;
  r.model.dispose();
  original.dispose();
  return ids.length;
}
