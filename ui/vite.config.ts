import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { fileURLToPath } from 'node:url';

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

// Tauri serves ui/dist from its own origin; relative paths keep every asset under 'self'.
export default defineConfig({
  base: './',
  plugins: [svelte(), svelteTesting()],
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // WebKitGTK has native modulepreload; the polyfill would only add code.
    modulePreload: { polyfill: false },
    // Inlining small assets would make data: URLs, which the CSP does not allow.
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        main: page('index.html'),
        consent: page('consent.html'),
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
  },
});
