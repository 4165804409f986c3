import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'src/protocol/messages/',
      'src/controller/grpc/generated/',
      'data/',
      'bench/results/',
      '.ci/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: the type checker knows which values are promises and which conditions
    // can never change, so these catch un-awaited work (a shutdown that races the next step) and
    // dead branches that a reader would otherwise trust.
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-unnecessary-condition': 'error',
    },
  },
  {
    // Tests declare what beforeAll builds as always set (`let broker: BrokerProcess`), yet afterAll
    // must cope with a beforeAll that failed half-way (`await broker?.cleanup()`): there the
    // "unnecessary" optional chain is the point, so this one rule stays off in test/.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unnecessary-condition': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
