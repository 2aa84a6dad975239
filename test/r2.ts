import { Miniflare } from 'miniflare';

/**
 * A real (local) R2 bucket from Miniflare, the simulator `wrangler dev` runs on: the same
 * implementation the Worker's MEDIA binding has locally, not a hand-written fake. Pass `bucket` as
 * the harness's `objectBindings.MEDIA`.
 */
export async function startR2Bucket(name = 'media') {
  const mf = new Miniflare({
    workers: [
      {
        config: {
          name: 'r2-holder',
          compatibilityDate: '2026-11-01',
          manifest: {
            mainModule: 'index.js',
            modules: { 'index.js': { type: 'esm', contents: 'export default {}' } },
          },
          env: { MEDIA: { type: 'r2', name } },
        },
      },
    ],
  });
  const bucket = (await mf.getR2Bucket('MEDIA')) as unknown as R2Bucket;
  return { bucket, close: () => mf.dispose() };
}
