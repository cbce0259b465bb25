// Personal access tokens and who a request comes from, as the API serves them at
// /api/v1/tokens and /api/v1/whoami. Shared by the API, the CLI (`tidepool token`) and the UI's
// header.

/** A personal access token, without its secret (the only time that is shown is TokenCreated). */
export interface TokenInfo {
  /** Random, public: what `tidepool token revoke` may type instead of the name. */
  id: string;
  /** The maker's own name for it. */
  name: string;
  /** The person it acts as. */
  owner: string;
  /** RFC 3339. */
  createdAt: string;
  /** RFC 3339; absent when it never expires. */
  expiresAt?: string;
}

/** POST /api/v1/tokens: the token itself, shown this once. */
export interface TokenCreated extends TokenInfo {
  apiVersion: string;
  kind: 'Token';
  /** `tp_<id>_<secret>`, sent as `Authorization: Bearer`. */
  token: string;
}

/** GET /api/v1/tokens: the caller's tokens. */
export interface TokenList {
  apiVersion: string;
  kind: 'TokenList';
  items: TokenInfo[];
}

/** GET /api/v1/whoami. */
export interface WhoAmI {
  apiVersion: string;
  kind: 'Identity';
  name: string;
  namespace: string;
  admin: boolean;
  groups: string[];
  /** How this request proved who it is. */
  via: 'basic' | 'session' | 'token' | 'none';
  /** How this server signs people in: basic, oidc or github. */
  authMode: string;
  /** Where a browser signs out (only for a session). */
  signOut?: string;
}
