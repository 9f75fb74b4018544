#!/usr/bin/env node
// The device simulator as a program: `imprint-sim --port /dev/pts/N --serial SN123 ...`.
import { register } from 'tsx/esm/api';

register();
await import('../src/sim/device-sim-cli.ts');
