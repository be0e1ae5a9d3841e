/**
 * The parts of TensorFlow.js cohortlab uses: core ops (whose gradients the core package registers
 * itself), layers (the MLP, its save/load) and the plain-JS cpu backend, registered here once. The
 * wasm and native backends are loaded on demand by backend.ts. This replaces the `@tensorflow/tfjs`
 * bundle, whose converter, data and webgl packages were never used (issue 19 part 7): the same
 * 4.22.0 core and layers code, so the same numbers.
 */
import '@tensorflow/tfjs-backend-cpu';

export * as tf from '@tensorflow/tfjs-core';
export * as tfl from '@tensorflow/tfjs-layers';
