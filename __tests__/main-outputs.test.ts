import { adminPasswordOutput } from '../src/main.ts';

// Defect 4: the admin-password output is set, masked, as soon as the password reaches the hub
// (reconcile calls this through ctx.onAdminPassword), not only when the run succeeds.
describe('admin-password output', () => {
  function fakeCore() {
    const calls: string[] = [];
    return {
      calls,
      out: {
        setSecret: (s: string) => void calls.push(`secret ${s}`),
        setOutput: (name: string, value: unknown) =>
          void calls.push(`output ${name}=${String(value)}`),
      },
    };
  }

  test('masks the password before it becomes an output', () => {
    const { calls, out } = fakeCore();
    adminPasswordOutput(out)('s3cret-generated-0123456');
    expect(calls).toEqual([
      'secret s3cret-generated-0123456',
      'output admin-password=s3cret-generated-0123456',
    ]);
  });

  test("'' withdraws it (the instance it was set on was terminated), with nothing to mask", () => {
    const { calls, out } = fakeCore();
    adminPasswordOutput(out)('');
    expect(calls).toEqual(['output admin-password=']);
  });
});
