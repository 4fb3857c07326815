// One lint setup for the whole workspace.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      // Type-aware rules read the types of the projects that hold each file: every package's sources,
      // and tsconfig.check.json for the tests, benchmarks and configs.
      parserOptions: {
        project: [
          './tsconfig.check.json',
          './packages/*/tsconfig.json',
          './examples/*/tsconfig.json',
          './grafana/tsconfig.json',
          './packages/web/tsconfig.vite.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its errors (an unhandled rejection ends the process), and a
      // promise where a callback is expected is never awaited: both must be said out loud (`void`).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Named exports only (see DESIGN.md).' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['eslint.config.js', 'vitest.config.ts', 'vitest.install.config.ts', 'packages/web/vite.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // Plain JavaScript (command entry points, scripts, this file) has no types to check against.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The web page: browser globals, and nothing from a span may ever be parsed as markup.
    files: ['packages/web/src/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-properties': [
        'error',
        ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'createContextualFragment', 'write', 'writeln'].map((property) => ({
          property,
          message: 'Text from spans is untrusted: build elements with h() and text nodes (packages/web/src/dom.ts).',
        })),
      ],
      'no-restricted-globals': [
        'error',
        { name: 'eval', message: 'No code from strings.' },
        // Every request of the page goes through the typed client, so the page cannot drift from the API.
        ...['fetch', 'XMLHttpRequest', 'EventSource', 'WebSocket'].map((name) => ({
          name,
          message: 'Requests of the page go through @llm-monitor/client (createMonitorClient, subscribeLive).',
        })),
      ],
    },
  },
);
