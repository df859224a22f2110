/// <reference types="vitest/config" />
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Two pages: the admin client (index.html, served at /admin) and the GraphiQL page that
// `GET /graphql` serves to a browser. Both are built into the Python package's static
// folder, so the server never fetches anything from the internet.
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, '../chrgraph/http/static/admin'),
    emptyOutDir: true,
    sourcemap: false,
    // Every asset is a file of its own: the pages' policy refuses data: URLs.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      onwarn(warning, warn) {
        // GraphiQL's packages carry React compiler directives that bundling drops harmlessly.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
