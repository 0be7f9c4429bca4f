import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Forked workers inherit NODE_EXTRA_CA_CERTS set by the global setup, so the loopback Gmail-like
    // server's certificate is trusted the standard way, with verification on.
    pool: 'forks',
    // Most suites wait on loopback sockets, not the CPU: two workers on two cores finish sooner.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    // The built bundles are loaded by Node itself, untransformed, the way Lambda loads them.
    server: { deps: { external: [/\/dist\/functions\//] } },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    coverage: { provider: 'v8', include: ['functions/**', 'infra/**', 'local/**', 'scripts/**'] },
  },
});
