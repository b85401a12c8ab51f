import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Prints the fault suite's table (test/faults) at the end of a run that includes it.
    globalSetup: ['test/faults/report.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores here: more workers only make the database-bound files fight.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
