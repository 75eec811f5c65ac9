// The shape of src/, checked by `npm run lint:deps` (dependency-cruiser): no import cycle; the
// AWS and GitHub adapters depend on nothing above them; the pure modules call no service.
/** Leaf modules every layer may use: types, errors, tag names, time. */
const FOUNDATION = '^src/(model|errors|tags|clock)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: split the shared part into a module of its own (see src/model.ts, src/context.ts).',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'aws-depends-on-nothing-above',
      severity: 'error',
      comment: 'src/aws/ is the bottom layer: it may use only src/aws/ and the foundation modules.',
      from: { path: '^src/aws/' },
      to: { path: '^src/', pathNot: ['^src/aws/', FOUNDATION] },
    },
    {
      name: 'github-depends-on-nothing-above',
      severity: 'error',
      comment:
        'src/github/ is the bottom layer: it may use only src/github/ and the foundation modules.',
      from: { path: '^src/github/' },
      to: { path: '^src/', pathNot: ['^src/github/', FOUNDATION] },
    },
    {
      name: 'pure-modules-call-no-service',
      severity: 'error',
      comment: 'Planning, parsing and script building are pure: they never reach AWS or GitHub.',
      from: {
        path: '^src/(plan|fleet-plan|lease|ttl|model|bootstrap|instance-helper|inputs|wait)(\\.ts$|/)|^src/scripts/',
      },
      to: { path: '^src/(aws|github)/|^node_modules/@aws-sdk/client-|^node_modules/@actions/' },
    },
    {
      name: 'foundation-is-a-leaf',
      severity: 'error',
      comment: 'The foundation modules import no other module of src/ but each other.',
      from: { path: FOUNDATION },
      to: { path: '^src/', pathNot: FOUNDATION },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
