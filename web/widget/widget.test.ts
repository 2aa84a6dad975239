import { describe, expect, it } from 'vitest';
import { buildWidget, WIDGET_GZIP_BUDGET } from '../../dev/web-build';

/** The widget is what every visitor of a business's site downloads: small, and one classic script. */
describe('widget.js', () => {
  it(`stays within ${WIDGET_GZIP_BUDGET / 1024} KiB gzip, as one script with no imports`, async () => {
    const { bytes, gzipBytes } = await buildWidget();
    expect(gzipBytes).toBeGreaterThan(1000);
    expect(gzipBytes).toBeLessThanOrEqual(WIDGET_GZIP_BUDGET);
    const text = new TextDecoder().decode(bytes);
    expect(text).not.toMatch(/\bimport\s*[({"']/);
    // Message text is set as text, never parsed as HTML.
    expect(text).not.toMatch(/innerHTML\s*=\s*[a-z]\.text/);
  });
});
