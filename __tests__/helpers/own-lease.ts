// What the install lease tag of this test run (run-owner-1) looks like in CreateTags, as
// `key=value` strings (see ReconcileWorld.tagWrites). Not a test file.
import { RELEASED } from '../../src/lease.ts';
import { TAG_APPLIED } from '../../src/spec-record.ts';
import { TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from '../../src/tags.ts';

/** The install lease tag this test run (run-owner-1) writes, before and after SendCommand. */
export const OWN_LEASE = new RegExp(
  `^${TAG_INSTALL_LEASE}=run-owner-1\\|\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`,
);
export const OWN_LEASE_WITH_COMMAND = new RegExp(`${OWN_LEASE.source.slice(0, -1)}\\|cmd-1$`);
/** The lease a finished or failed install gives up, so a waiting run acts at once. */
export const OWN_LEASE_RELEASED = new RegExp(`${OWN_LEASE.source.slice(0, -1)}\\|${RELEASED}$`);
/** The one CreateTags of a successful install: marked installed, lease released, spec recorded. */
export const MARKED_INSTALLED = [
  `${TAG_INSTALLED_VERSION}=2.0.0`,
  expect.stringMatching(OWN_LEASE_RELEASED),
  expect.stringMatching(new RegExp(`^${TAG_APPLIED}=s=[\\w-]+;cfg=`)),
];
