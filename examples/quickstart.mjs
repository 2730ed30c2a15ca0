// uib as a library, from plain JavaScript: train a small model on arrays of your own, ask it to
// forget a class, and read the evidence. Run with `node examples/quickstart.mjs` after
// `npm install uib` (the tests run it against the packed package).
import {
  buildModel,
  datasetFromArrays,
  evaluateAll,
  initBackend,
  predictSet,
  trainModel,
  unlearn,
} from 'uib';

await initBackend('cpu');

// 300 points in 2-D, three classes by angle; class 2 is the deletion request.
const n = 300;
const x = new Float32Array(2 * n);
const y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  const a = (2 * Math.PI * i) / n;
  x[2 * i] = Math.cos(a) * (1 + (i % 7) / 10);
  x[2 * i + 1] = Math.sin(a) * (1 + (i % 5) / 10);
  y[i] = Math.floor((3 * i) / n);
}
const data = datasetFromArrays({ x, y, sampleShape: [2], numClasses: 3, name: 'points' });
const forgetPos = [...Array(n).keys()].filter((i) => y[i] === 2);
const retainPos = [...Array(n).keys()].filter((i) => y[i] !== 2);
const forget = data.subset(forgetPos, 'forget');
const retain = data.subset(retainPos, 'retain');

const spec = { arch: 'mlp', inputShape: [2], numClasses: 3, hidden: [16], seed: 1 };
const recipe = { optimizer: { name: 'adam', lr: 0.02 }, epochs: 30, batchSize: 32, seed: 1 };
const original = buildModel(spec);
await trainModel(original, data, recipe, { quiet: true });

// UIB-IF at its defaults; any id of `listMethods()` works the same way (`ft`, `salun`, `scrub+uib`…).
const result = await unlearn('uib-if', {
  original,
  spec,
  recipe,
  data: { retain, forget },
  seed: 1,
});
const sets = async (model) => ({
  forget: await predictSet(model, forget),
  retain: await predictSet(model, retain),
  test: await predictSet(model, data),
});
const before = await evaluateAll(
  { sets: await sets(original), seed: 1 },
  { metrics: ['ua', 'ra'] },
);
const after = await evaluateAll(
  { sets: await sets(result.model), seed: 1 },
  { metrics: ['ua', 'ra'] },
);
console.log(
  JSON.stringify({
    before: { ua: before.values.ua?.value, ra: before.values.ra?.value },
    after: { ua: after.values.ua?.value, ra: after.values.ra?.value },
    timeMs: result.stats.timeMs,
  }),
);
result.model.dispose();
original.dispose();
