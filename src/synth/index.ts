/** The synthetic product with ground truth (`cohortlab generate`). */
export { LATENT_TYPES, DEFAULT_SYNTH_PARAMS } from './types.js';
export type { LatentType, SynthParams, SynthTruth, SynthResult } from './types.js';
export { generateSynthetic, validateSynthParams, writeTruthCsv, userId, userSeed, usersForEvents, TRUTH_CSV_HEADER, DEFAULT_SHIFT_FACTOR } from './generate.js';
export { EVENTS_CSV_HEADER } from './simulate.js';
export { churnProbability } from './truth.js';
export type { TruthWindow } from './truth.js';
export { drawUser, dayState, newDayState } from './user.js';
export type { UserSpec, DayState, World } from './user.js';
export { TYPE_PROFILES } from './profiles.js';
export { writeSynthetic, convertEventsToParquet, readTruthCsv } from './write.js';
export type { SynthFiles, WriteSyntheticReport } from './write.js';
export { latentTypesAt, MOVABLE_TYPES, MOVE_TO, MOVEMENT_PERIOD_DAYS, drawMovementPlan, movementSeed, scheduledMoveDay, withMove, moveScenarios, expectOverMoves } from './movement.js';
export type { MovementRecord, MovementPlan, MoveScenario, LatentTypeSource } from './movement.js';
export { readMovementCsv, movementCsv, MOVEMENT_CSV_HEADER } from './write.js';
