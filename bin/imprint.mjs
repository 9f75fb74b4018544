#!/usr/bin/env node
// The `imprint` command. TypeScript sources run through tsx: no build step after `npm install`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
