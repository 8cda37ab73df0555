import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // Component styles go to the emitted .css files, never to JS-injected <style> tags,
    // so a CSP without 'unsafe-inline' styles keeps working.
    css: 'external',
    runes: true,
  },
};
