import type { Command } from './command.js';
import { featuresCommand } from './features.js';
import { rulesCommand } from './rules.js';
import { transitionsCommand } from './transitions.js';

/** Every command of the CLI, in the order `cohortlab --help` lists them. */
export const COMMANDS: Command[] = [featuresCommand, rulesCommand, transitionsCommand];
