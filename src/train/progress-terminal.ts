/** The training loop's bar on a terminal (stderr, cli-progress); nothing when stderr is not a TTY. */
import { SingleBar } from 'cli-progress';
import type { StepProgressFactory } from './progress.ts';

export const terminalStepProgress: StepProgressFactory = (label, totalSteps) => {
  if (!process.stderr.isTTY) return null;
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${label} |{bar}| {value}/{total} steps · epoch {epoch} · loss {loss}`,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(totalSteps, 0, { epoch: 1, loss: '-' });
  return {
    update: (step, epoch, loss) => bar.update(step, { epoch, loss }),
    stop: () => bar.stop(),
  };
};
