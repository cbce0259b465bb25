/** Tidepool's version: the CLI prints it, the server answers it at GET /version. */
export const TIDEPOOL_VERSION = '0.1.0';
