// The few HTML pages of sign-in (a refusal naming who is signed in, signed out): a browser
// gets a page, any other client the Status JSON of the same error.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiError } from '../errors.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function html(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)} · Tidepool</title><style>body{font:16px system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

export const para = (text: string) => `<p>${esc(text)}</p>`;
export const link = (href: string, text: string) => `<p><a href="${esc(href)}">${esc(text)}</a></p>`;

/** Whether the client wants a page (a browser) rather than JSON. */
export const wantsHtml = (req: FastifyRequest) => /text\/html/.test(String(req.headers.accept ?? ''));

/** Answers `err`: a page for a browser (with `extra` HTML under the message), the Status otherwise. */
export function sendError(req: FastifyRequest, reply: FastifyReply, err: ApiError, extra = ''): FastifyReply {
  if (!wantsHtml(req)) throw err;
  const title = err.code === 403 ? 'Not allowed' : err.code === 401 ? 'Not signed in' : 'Sign-in failed';
  return reply
    .code(err.code)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html(title, para(err.message) + extra));
}
