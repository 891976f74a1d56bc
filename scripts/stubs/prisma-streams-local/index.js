'use strict';
// `prisma dev` (a local Prisma Postgres) is the only user of @prisma/streams-local, and every
// release of it requires Node 22. IdleMint uses a real PostgreSQL and runs on Node 20.19+, so the
// package is replaced by this stub (package.json "overrides"): no EBADENGINE warning on `npm ci`.
exports.startLocalDurableStreamsServer = () => {
  throw new Error('`prisma dev` is not supported in IdleMint (it needs Node 22): use PostgreSQL (README)');
};
