export * from './meta.js';
export * from './workspace.js';
export * from './port.js';
export * from './event.js';
export * from './sync.js';
export * from './kinds.js';
export * from './quantity.js';
export * from './validate.js';
