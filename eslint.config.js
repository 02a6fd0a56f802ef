// ESLint (flat config) for Territory's own JavaScript: the map runtime and its unit tests.
// Vendored third-party files under territory/static/vendor are not ours and not linted.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  {ignores: ["territory/static/vendor/**", "node_modules/**", ".venv/**"]},
  js.configs.recommended,
  {
    files: ["territory/static/map/**/*.js"],
    languageOptions: {
      ecmaVersion: 2017,
      sourceType: "script",
      globals: {...globals.browser, L: "readonly", module: "writable"},
    },
    rules: {
      "no-var": "off",
      eqeqeq: ["error", "always"],
      curly: ["error", "all"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-unused-vars": ["error", {args: "none"}],
      strict: ["error", "function"],
    },
  },
  {
    // The app's page script (territory/ui/server.py serves it): dynamic import() is ES2020.
    files: ["territory/static/app/**/*.js"],
    languageOptions: {ecmaVersion: 2020, sourceType: "script", globals: {...globals.browser}},
    rules: {
      eqeqeq: ["error", "always"],
      curly: ["error", "all"],
      "no-implicit-globals": "error",
      strict: ["error", "function"],
    },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: {ecmaVersion: 2022, sourceType: "commonjs", globals: {...globals.node}},
    rules: {eqeqeq: ["error", "always"]},
  },
];
