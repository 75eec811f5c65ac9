// Runs test files in a stable order, with the audit of the whole end-to-end suite (e2e/audit
// .test.ts: secrets in logs and requests, IAM policy coverage) last, after every other run.
const Sequencer = require('@jest/test-sequencer').default;

class AuditLast extends Sequencer {
  sort(tests) {
    const last = (t) => (t.path.endsWith('audit.test.ts') ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }
}

module.exports = AuditLast;
