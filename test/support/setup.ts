/**
 * Set up before every test file (vitest.config.ts `setupFiles`). Request tables compare by their
 * rows, not by where they hold them: a table past LATENCY_DOCTOR_SPILL_ROWS requests keeps its
 * cold columns in a temporary file (model/_cold-columns.ts), so two tables with the same requests
 * differ inside when one of them went there.
 */
import { expect } from 'vitest';

import { RequestTable } from '../../src/model/request-table.js';

expect.addEqualityTesters([
  function tablesByRows(a: unknown, b: unknown, testers) {
    if (!(a instanceof RequestTable) || !(b instanceof RequestTable)) return undefined;
    return this.equals(a.rows(), b.rows(), testers);
  },
]);
