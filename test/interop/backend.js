// A minimal Backstage backend for Gatehouse's interop tests: the catalog
// plugin only, on the backend-defaults services. Its config comes from the
// --config files the test passes (SQLite in memory, a file location of User
// and Group entities, discovery.endpoints sending `auth` to Gatehouse).
'use strict';
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.start().catch(err => {
  console.error('interop backend failed to start:', err);
  process.exit(1);
});
