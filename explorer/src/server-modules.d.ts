// The response types (src/serve/response-types.ts) come from the server's schemas, whose error catalogue
// (src/shared/errors.ts) can also write docs/errors.md with node:fs. The browser never calls that writer;
// this declaration lets the explorer's type check read the catalogue without Node's types.
declare module 'node:fs/promises';
