import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // e2e/.tmp holds the emulated instances' disks and e2e/.cache the wheelhouse: whole Python
  // environments with their JavaScript, not this project's code.
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'e2e/.tmp/', 'e2e/.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // jest loads its test sequencer with require().
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
