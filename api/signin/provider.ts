// What a sign-in provider (OIDC, GitHub) does for the sign-in routes: where to send the browser,
// and who came back. The routes keep the pending half (state, PKCE verifier, nonce) between the
// two; a provider keeps nothing per sign-in.
import { ApiError } from '../errors.js';
import type { Person } from './rules.js';

/** What one sign-in needs again at its callback; lives in memory for minutes, never on disk. */
export interface Pending {
  state: string;
  verifier: string;
  nonce?: string;
  /** The callback URL sent to the provider (it must be sent again with the code). */
  redirectUri: string;
}

export interface SignInProvider {
  readonly kind: 'oidc' | 'github';
  /** Shown on the sign-in pages: "your identity provider (URL)", "GitHub". */
  readonly label: string;
  /** The provider's authorization URL for a new sign-in, and what its callback must find again. */
  start(redirectUri: string): Promise<{ url: string; pending: Pending }>;
  /** The person, from the callback's query (code, state): throws SignInError when anything does not check out. */
  finish(query: URLSearchParams, pending: Pending): Promise<Person>;
  /** The person a Bearer token of this provider stands for (OIDC only): throws SignInError when it does not verify. */
  verifyBearer?(token: string): Promise<Person>;
}

/** A sign-in or token that did not check out: 400 for a broken flow, 401 for bad credentials, 502 for a provider away. */
export class SignInError extends ApiError {
  constructor(code: 400 | 401 | 403 | 502, message: string) {
    super(
      code,
      code === 400 ? 'BadRequest' : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : 'BadGateway',
      message,
    );
  }
}

/** The message of an error from a library, without a stack, for a Status. */
export const reasonOf = (err: unknown): string => {
  const e = err as { message?: string; error_description?: string; cause?: { message?: unknown } };
  // openid-client wraps oauth4webapi's error, whose message names the claim ('"nonce" claim value').
  const inner = typeof e.cause?.message === 'string' ? ` (${e.cause.message})` : '';
  return `${e.error_description || e.message || String(err)}${inner}`;
};
