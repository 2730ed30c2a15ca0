/**
 * One run as the page does it: start the backend, fetch the served MNIST subset (or take the
 * user's dropped set), run the deletion, and build the downloads. The worker runs it for the
 * page; the self-test runs it on the main thread, because headless Chromium's
 * --virtual-time-budget (what lets --dump-dom wait for the result) counts the main thread's work
 * but not a worker's.
 */
import { type BrowserBackend, initBrowserBackend } from '../src/browser.ts';
import {
  type PageData,
  pageSources,
  parseMnistSubset,
  type RunConfig,
  type RunResult,
  type RunSources,
  runDeletion,
  type Stage,
} from './run.ts';
import { dataRef, deletionRecord, type ModelFiles, modelFiles } from './save.ts';

export interface Executed {
  result: RunResult;
  files: ModelFiles;
  /** The model before forgetting, offered beside it so that every hash of the record is checkable. */
  originalFiles: ModelFiles;
  record: unknown;
}

export async function execute(
  config: RunConfig,
  backend: BrowserBackend | undefined,
  base: string,
  onStage: (s: Stage) => void,
  data?: PageData,
): Promise<Executed> {
  const used = await initBrowserBackend(backend, new URL('./', base).href);
  let sources: RunSources;
  let served: { bytes: Uint8Array; n: number } | null = null;
  if (data) {
    onStage({ stage: 'data', detail: `backend ${used}; ${data.name}` });
    sources = { ...pageSources(data, config.seed), user: true };
  } else {
    onStage({ stage: 'data', detail: `backend ${used}; loading the MNIST subset` });
    const res = await fetch(new URL('mnist-subset.bin', base));
    if (!res.ok) throw new Error(`mnist-subset.bin: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    sources = parseMnistSubset(bytes);
    served = { bytes, n: sources.train.y.length };
  }
  const { result, original, model } = await runDeletion(sources, config, onStage);
  try {
    const files = await modelFiles(model);
    const originalFiles = await modelFiles(original, 'original-weights.bin');
    return {
      result,
      files,
      originalFiles,
      record: deletionRecord(
        config,
        result,
        { original: originalFiles, unlearned: files },
        dataRef(data, served),
      ),
    };
  } finally {
    original.dispose();
    model.dispose();
  }
}
