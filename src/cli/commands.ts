import type { Command } from './command.js';
import { generateCommand } from './generate.js';
import { profileCommand } from './profile.js';
import { featuresCommand } from './features.js';
import { rulesCommand } from './rules.js';
import { transitionsCommand } from './transitions.js';
import { ltvCommand } from './ltv.js';
import { clusterCommand } from './cluster.js';
import { trainCommand } from './train.js';
import { evaluateCommand } from './evaluate.js';
import { scoreCommand } from './score.js';
import { modelsCommand } from './models.js';
import { serveCommand } from './serve.js';
import { retentionCommand } from './retention.js';
import { refreshCommand } from './refresh.js';
import { driftCommand, historyCommand } from './history.js';

/** Every command of the CLI, in the order `cohortlab --help` lists them. */
export const COMMANDS: Command[] = [generateCommand, profileCommand, featuresCommand, rulesCommand, transitionsCommand, clusterCommand, trainCommand, evaluateCommand, scoreCommand, refreshCommand, historyCommand, driftCommand, retentionCommand, ltvCommand, modelsCommand, serveCommand];
