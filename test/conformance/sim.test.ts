import { createSimBackend } from '../../src/verbs/sim/index.js';
import { defineConformance } from './suite.js';

defineConformance('sim', async () => createSimBackend());
