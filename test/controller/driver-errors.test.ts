// The runtime and proxy errors share one shape (DriverError: message + reason) and keep
// their own names, default reasons and instanceof.
import { describe, expect, it } from 'vitest';
import { DriverError } from '../../drivers/errors.js';
import { ProxyError } from '../../drivers/proxy/types.js';
import { RuntimeError } from '../../drivers/runtime/types.js';

describe('driver errors', () => {
  it('RuntimeError is a DriverError with its reason, code and name', () => {
    const err = new RuntimeError('gone', 'NotFound', 404);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ProxyError);
    expect([err.name, err.message, err.reason, err.code]).toEqual(['RuntimeError', 'gone', 'NotFound', 404]);
    expect(new RuntimeError('x').reason).toBe('RuntimeError');
  });

  it('ProxyError is a DriverError with its reason and name', () => {
    const err = new ProxyError('refused', 'ProxyConfigRejected');
    expect(err).toBeInstanceOf(DriverError);
    expect(err).not.toBeInstanceOf(RuntimeError);
    expect([err.name, err.message, err.reason]).toEqual(['ProxyError', 'refused', 'ProxyConfigRejected']);
    expect(new ProxyError('x').reason).toBe('ProxyError');
  });
});
