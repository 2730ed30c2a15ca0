/** Browser twin of npm cli-progress: a page has no terminal; progress goes to the page instead. */
export class SingleBar {
  start(): void {}
  update(): void {}
  stop(): void {}
}
