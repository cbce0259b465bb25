export * from './backoff.js';
export * from './clock.js';
export * from './delaying.js';
export * from './queue.js';
export * from './rate-limiting.js';
export * from './metrics.js';
