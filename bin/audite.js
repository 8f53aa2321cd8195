#!/usr/bin/env -S node --max-semi-space-size=2 --max-old-space-size=64
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via the prepare script).
//
// The heap bounds in the shebang keep the relay's peak RSS under 150 MB whatever
// the backlog (BENCHMARKS.md: 135-139 MB, at ~10 % of its throughput): it allocates
// fast and briefly (rows in, request bodies out), and unbounded V8 grows its heap
// to ~200 MB under that churn and never shrinks it. Every command keeps its memory
// bounded by a batch or a chunk (history tables print 1,000 rows at a time).
// They apply when this file is executed (npx audite, node_modules/.bin/audite);
// `node bin/audite.js` needs them on its own command line or in NODE_OPTIONS.
await import('../dist/cli/main.js');
