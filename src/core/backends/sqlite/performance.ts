/** sqlite: the performance part of the backend module (contract/performance.ts). */
import type { PerformanceSupport } from '../contract/performance.js';

export const performance: PerformanceSupport = {};
