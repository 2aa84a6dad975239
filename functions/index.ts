import { newApp } from './app';

/** Worker entry: the composition root. Everything else is built by `newApp()`. */
const app = newApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Record<string, unknown>>;
