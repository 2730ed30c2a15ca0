/**
 * Where the training loop reports its steps. The loop only calls this hook; the Node entries (the
 * `uib` CLI and the package's `uib` import) install a terminal bar (./progress-terminal.ts), a
 * page installs nothing (it shows its own stages), so the loop imports nothing terminal-bound.
 */
export interface StepProgress {
  update(step: number, epoch: number, loss: string): void;
  stop(): void;
}

/** A reporter for one run of `totalSteps` steps, or null for none. */
export type StepProgressFactory = (label: string, totalSteps: number) => StepProgress | null;

let factory: StepProgressFactory | null = null;

export function setStepProgress(f: StepProgressFactory | null): void {
  factory = f;
}

export function startStepProgress(label: string, totalSteps: number): StepProgress | null {
  return factory ? factory(label, totalSteps) : null;
}
