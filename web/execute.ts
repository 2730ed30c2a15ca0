/**
 * One run as the page does it: start the backend, fetch the served MNIST subset, run the deletion,
 * and build the downloads. The worker runs it for the page; the self-test runs it on the main
 * thread, because headless Chromium's --virtual-time-budget (what lets --dump-dom wait for the
 * result) counts the main thread's work but not a worker's.
 */
import { type BrowserBackend, initBrowserBackend } from '../src/browser.ts';
import {
  parseMnistSubset,
  type RunConfig,
  type RunResult,
  runDeletion,
  type Stage,
} from './run.ts';
import { deletionRecord, modelFiles } from './save.ts';

export interface Executed {
  result: RunResult;
  files: { modelJson: string; weights: ArrayBuffer };
  record: unknown;
}

export async function execute(
  config: RunConfig,
  backend: BrowserBackend | undefined,
  base: string,
  onStage: (s: Stage) => void,
): Promise<Executed> {
  const used = await initBrowserBackend(backend, new URL('./', base).href);
  onStage({ stage: 'data', detail: `backend ${used}; loading the MNIST subset` });
  const res = await fetch(new URL('mnist-subset.bin', base));
  if (!res.ok) throw new Error(`mnist-subset.bin: HTTP ${res.status}`);
  const sources = parseMnistSubset(new Uint8Array(await res.arrayBuffer()));
  const { result, original, model } = await runDeletion(sources, config, onStage);
  try {
    return {
      result,
      files: await modelFiles(model),
      record: deletionRecord(config, result, original, model),
    };
  } finally {
    original.dispose();
    model.dispose();
  }
}
