// Builds the page into dist/app, which the receiver serves at /. Asset names carry a content hash,
// so the receiver can let browsers cache them for a year; index.html is revalidated every time.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsDir: 'assets',
  },
});
