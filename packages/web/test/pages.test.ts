// Pages and the web option without a broker: what a user gets wrong is refused with the option named.
import { App, createLogger, page, PageResponse, service, type PageRequest } from '@stream-app/core';
import { describe, expect, it } from 'vitest';
import { startWebServer } from '../src/index.js';

const logged: string[] = [];
const newApp = (web: object = { port: 0 }) =>
  new App({
    id: 'pages',
    broker: '127.0.0.1:9',
    web,
    logger: createLogger({ level: 'info', format: 'json', write: (line) => logged.push(line) }),
  });

describe('web options', () => {
  it.each([
    [{ port: -1 }, /web\.port must be a port number/],
    [{ port: 1.5 }, /web\.port must be a port number/],
    [{ auth: { issuer: 'https://idp', audience: 'a' } }, /web\.auth\.jwksUri is missing/],
    [{ auth: { issuer: 'https://idp', jwksUri: 'https://idp/jwks' } }, /web\.auth\.audience is missing/],
    [
      { auth: { issuer: 'https://idp', audience: 'a', jwksUri: 'https://idp/jwks', mode: 'audit' } },
      /web\.auth\.mode must be enforce or report/,
    ],
  ])('refuses %j', (web, message) => {
    expect(() => newApp(web)).toThrow(message);
  });

  it('defaults to 127.0.0.1:6066 and enforce', () => {
    const app = newApp({ auth: { issuer: 'https://idp', audience: 'a', jwksUri: 'https://idp/jwks' } });
    expect(app.options.web).toMatchObject({ host: '127.0.0.1', port: 6066, auth: { mode: 'enforce', scopes: [] } });
  });
});

describe('pages', () => {
  it('refuses a path without /, a reserved path, a second handler for the same route and an unknown method', () => {
    const app = newApp();
    expect(() => app.page('orders', () => 1)).toThrow(/must start with '\/'/);
    expect(() => app.page('/metrics', () => 1)).toThrow(/\/metrics is served by the web server itself/);
    expect(() => app.page('/tables/x', () => 1)).toThrow(/\/tables is served by the web server itself/);
    app.page('/orders', () => 1);
    expect(() => app.page('/orders', () => 2)).toThrow(/a page already serves GET \/orders/);
    app.page('/orders', () => 2, { method: 'POST' });
    expect(() => app.page('/x', () => 1, { method: 'FETCH' as never })).toThrow(/method must be one of/);
  });

  it('serves decorated pages on the service instance, JSON bodies, 204 and PageResponse; a throwing page is a coded 500', async () => {
    const app = newApp();
    @service(app)
    class Notes {
      readonly notes: string[] = [];

      @page('/notes', { method: ['GET', 'POST'] })
      handle(request: PageRequest) {
        if (request.method === 'POST') {
          this.notes.push((request.body as { note: string }).note);
          return new PageResponse(201, { count: this.notes.length }, { location: '/notes' });
        }
        return { notes: this.notes, limit: request.query.limit };
      }

      @page('/notes/:index')
      one(request: PageRequest) {
        const note = this.notes[Number(request.params.index)];
        return note === undefined ? undefined : { note };
      }

      @page('/boom')
      boom(): never {
        throw new Error('internal detail: /var/secret/path');
      }
    }
    expect(Notes).toBeDefined();
    const server = await startWebServer(app);
    try {
      const posted = await fetch(`${server.url}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ note: 'hello' }),
      });
      expect(posted.status).toBe(201);
      expect(posted.headers.get('location')).toBe('/notes');
      expect(await posted.json()).toEqual({ count: 1 });
      expect(await (await fetch(`${server.url}/notes?limit=5`)).json()).toEqual({ notes: ['hello'], limit: '5' });
      expect(await (await fetch(`${server.url}/notes/0`)).json()).toEqual({ note: 'hello' });
      expect((await fetch(`${server.url}/notes/7`)).status).toBe(204);
      const boom = await fetch(`${server.url}/boom`);
      expect(boom.status).toBe(500);
      const text = await boom.text();
      expect(JSON.parse(text)).toEqual({
        code: 'STREAM_APP_ERR_PAGE_FAILED',
        message: 'the page failed; the worker log has the error',
      });
      expect(text).not.toContain('secret');
      // The log has it, with the route.
      expect(logged.some((line) => line.includes('"route":"/boom"') && line.includes('internal detail'))).toBe(true);
      const missing = await fetch(`${server.url}/nothing`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ code: 'STREAM_APP_ERR_WEB_NOT_FOUND' });
      // Not started: alive, not ready, and says why.
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        ready: false,
        checks: expect.arrayContaining([{ name: 'running', ok: false, detail: 'the app is created' }]),
      });
    } finally {
      await server.close();
    }
  });

  it('says which port is taken', async () => {
    const first = await startWebServer(newApp());
    try {
      const port = Number(new URL(first.url).port);
      await expect(startWebServer(newApp({ port }))).rejects.toMatchObject({
        code: 'STREAM_APP_ERR_WEB_LISTEN',
        message: expect.stringMatching(
          new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*choose another web\\.port`),
        ),
      });
    } finally {
      await first.close();
    }
  });
});
