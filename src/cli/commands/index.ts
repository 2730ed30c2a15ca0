/** Every `uib` verb, in the order `uib --help` lists them. Add a verb: one file, one line here. */
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [];
