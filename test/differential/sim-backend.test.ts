/** The catalog on the sim through the backend interface, against the kernel's recorded answers. */
import { SimBackend } from '../../src/verbs/sim/index.js';
import { backendDevice } from './runner-backend.js';
import { defineDifferential } from './suite.js';

defineDifferential('sim-backend', () => backendDevice(new SimBackend({})), { waitScale: 0.05 });
