import { type LoopbackServer, listenOnLoopback } from './stand-ins/http-server';

/**
 * A fake business website for each demo tenant, with the chat widget's script tag on it as a real
 * site would have it (docs/widget.md). Served on a port of its own, so the page's origin differs
 * from the Worker's and the widget's calls are cross-origin, CORS and the allow-list included.
 * `?lang=ar` serves the Arabic, right-to-left page; `?lang=es` the Spanish one.
 */
export type DemoSiteBusiness = { slug: string; name: string; widgetKey: string; blurb: string };

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch,
  );

const COPY = {
  en: { welcome: 'Welcome', hours: 'Open Monday to Saturday.', chat: 'Questions? Use the chat.' },
  es: { welcome: 'Bienvenido', hours: 'Abierto de lunes a sábado.', chat: '¿Dudas? Usa el chat.' },
  ar: {
    welcome: 'أهلًا بك',
    hours: 'نفتح من الاثنين إلى السبت.',
    chat: 'لديك سؤال؟ استخدم المحادثة.',
  },
} as const;

function businessPage(workerUrl: string, business: DemoSiteBusiness, lang: keyof typeof COPY) {
  const copy = COPY[lang];
  return `<!doctype html>
<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(business.name)}</title>
<style>
  body { font-family: Georgia, serif; margin: 0; color: #222; background: #fafaf7; }
  header { padding: 32px 24px; background: #2d2d2d; color: #fff; }
  main { padding: 24px; max-width: 720px; }
  /* A site's own styles must not reach the widget (it lives in a shadow root). */
  button { background: hotpink; font-size: 30px; }
</style>
</head>
<body>
<header><h1>${escapeHtml(business.name)}</h1></header>
<main>
  <h2>${copy.welcome}</h2>
  <p>${escapeHtml(business.blurb)}</p>
  <p>${copy.hours}</p>
  <p>${copy.chat}</p>
</main>
<script src="${workerUrl}/widget.js" data-key="${escapeHtml(business.widgetKey)}" async></script>
</body>
</html>`;
}

export function startDemoSite(options: {
  port?: number;
  workerUrl: string;
  businesses: DemoSiteBusiness[];
}): Promise<LoopbackServer> {
  return listenOnLoopback((request) => {
    const url = new URL(request.url);
    const html = (body: string, status = 200) =>
      new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8' } });
    if (url.pathname === '/') {
      const links = options.businesses
        .map(
          (b) =>
            `<li><a href="/${b.slug}">${escapeHtml(b.name)}</a> (<a href="/${b.slug}?lang=ar">العربية</a>, <a href="/${b.slug}?lang=es">español</a>)</li>`,
        )
        .join('');
      return html(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo sites</title></head><body><main><h1>Demo business sites</h1><ul>${links}</ul></main></body></html>`,
      );
    }
    const business = options.businesses.find((b) => url.pathname === `/${b.slug}`);
    if (!business) return html('<!doctype html><title>Not found</title><p>Not found</p>', 404);
    const requested = url.searchParams.get('lang');
    const lang = requested === 'ar' || requested === 'es' ? requested : 'en';
    return html(businessPage(options.workerUrl, business, lang));
  }, options.port ?? 0);
}
