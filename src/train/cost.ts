/**
 * Hardware-independent cost of a run: how many per-example gradients were evaluated (one forward +
 * backward pass of one sample counts 1), how many per-example forward passes without gradient,
 * and how many samples of each set were touched. Wall time is kept beside it.
 */
export class CostCounter {
  gradEvals = 0;
  forwardEvals = 0;
  readonly touched: Record<string, number> = {};
  private startedAt = performance.now();
  private stoppedAt: number | null = null;

  addGrad(examples: number, set?: string): void {
    this.gradEvals += examples;
    if (set) this.touched[set] = (this.touched[set] ?? 0) + examples;
  }

  addForward(examples: number, set?: string): void {
    this.forwardEvals += examples;
    if (set) this.touched[set] = (this.touched[set] ?? 0) + examples;
  }

  restart(): void {
    this.startedAt = performance.now();
    this.stoppedAt = null;
  }

  stop(): void {
    this.stoppedAt = performance.now();
  }

  get timeMs(): number {
    return (this.stoppedAt ?? performance.now()) - this.startedAt;
  }

  /** Samples touched, in units of passes over a set of `n` samples (the "epochs of data touched"). */
  epochsTouched(n: number): number {
    const total = Object.values(this.touched).reduce((a, b) => a + b, 0);
    return n > 0 ? total / n : 0;
  }

  toJSON() {
    return {
      timeMs: this.timeMs,
      gradEvals: this.gradEvals,
      forwardEvals: this.forwardEvals,
      touched: { ...this.touched },
    };
  }
}
