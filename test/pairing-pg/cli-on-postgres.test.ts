// The pairing CLI tests (imprint pairing …, astartectl-style commands) once more on a PostgreSQL store.
import { test } from 'node:test';
import { CLI_FILES, passOnPostgres } from './on-postgres.ts';

test('the pairing CLI tests pass on a PostgreSQL store', () => passOnPostgres(CLI_FILES));
