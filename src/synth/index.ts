/** The synthetic product with ground truth (`cohortlab generate`). */
export { LATENT_TYPES, DEFAULT_SYNTH_PARAMS } from './types.js';
export type { LatentType, SynthParams, SynthTruth, SynthResult } from './types.js';
export { generateSynthetic, validateSynthParams, writeTruthCsv, userId, userSeed, usersForEvents, TRUTH_CSV_HEADER } from './generate.js';
export { EVENTS_CSV_HEADER } from './simulate.js';
export { churnProbability } from './truth.js';
export type { TruthWindow } from './truth.js';
export { drawUser, dayState, newDayState } from './user.js';
export type { UserSpec, DayState, World } from './user.js';
export { TYPE_PROFILES } from './profiles.js';
export { writeSynthetic, convertEventsToParquet, readTruthCsv } from './write.js';
export type { SynthFiles, WriteSyntheticReport } from './write.js';
