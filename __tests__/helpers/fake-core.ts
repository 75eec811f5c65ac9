// A stand-in for the @actions/core module, for tests that import main.ts (jest.unstable_mockModule),
// and the save/restore of the environment variables such a run reads. Not a test file.

export interface FakeCoreOptions {
  /** The value of an input ('' when absent), as the workflow would give it. */
  input: (name: string) => string | undefined;
  setFailed: (message: string | Error) => void;
  setSecret?: (secret: string) => void;
}

const noop = (): undefined => undefined;

/** The module: inputs trimmed unless asked not to (like @actions/core), every log call a no-op. */
export function fakeCore(opts: FakeCoreOptions) {
  return {
    getInput: (name: string, options?: { trimWhitespace?: boolean }) => {
      const value = opts.input(name) ?? '';
      return options?.trimWhitespace === false ? value : value.trim();
    },
    setSecret: opts.setSecret ?? noop,
    setFailed: opts.setFailed,
    setOutput: noop,
    info: noop,
    notice: noop,
    warning: noop,
    debug: noop,
    error: noop,
    isDebug: () => false,
    group: <T>(_name: string, fn: () => Promise<T>) => fn(),
    summary: { addRaw: noop, addTable: noop, addHeading: noop, write: async () => undefined },
  };
}

/** Remembers these environment variables now; the function returned puts them back as they were. */
export function saveEnv(keys: string[]): () => void {
  const saved = keys.map((k) => [k, process.env[k]] as const);
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  };
}
