import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The UI is a static bundle served by the app's own loopback host (src/host/ui-host.ts).
export default defineConfig({
  root: 'src/ui',
  base: './',
  plugins: [react()],
  build: { outDir: '../../dist/ui', emptyOutDir: true, sourcemap: true },
});
