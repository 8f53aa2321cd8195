#!/usr/bin/env -S node --max-semi-space-size=8 --max-old-space-size=96
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via the prepare script).
//
// The heap bounds in the shebang keep the relay's peak RSS flat (~135 MB) whatever
// the backlog: it allocates fast and briefly (rows in, request bodies out), and
// unbounded V8 grows its heap to ~200 MB under that churn and never shrinks it.
// They apply when this file is executed (npx audite, node_modules/.bin/audite);
// `node bin/audite.js` needs them on its own command line or in NODE_OPTIONS.
await import('../dist/cli/main.js');
