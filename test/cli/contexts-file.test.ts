// The client config file: what a bad one says (file, line or field path), which file is used,
// and that a write is whole and 0600.
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configFilePath,
  contextNameFor,
  parseConfigFile,
  readConfigFile,
  withContext,
  writeConfigFile,
  emptyConfigFile,
} from '../../cli/contexts-file.js';

describe('the client config file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-ctx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is found at --config, TIDEPOOL_CONFIG or $XDG_CONFIG_HOME/tidepool/config.yaml', () => {
    expect(configFilePath('/a.yaml', { TIDEPOOL_CONFIG: '/b.yaml' })).toBe('/a.yaml');
    expect(configFilePath(undefined, { TIDEPOOL_CONFIG: '/b.yaml', XDG_CONFIG_HOME: '/x' })).toBe('/b.yaml');
    expect(configFilePath(undefined, { XDG_CONFIG_HOME: '/x' })).toBe('/x/tidepool/config.yaml');
    expect(configFilePath(undefined, { HOME: '/home/u' })).toBe('/home/u/.config/tidepool/config.yaml');
  });

  it('names the file, the line or the field of what is wrong', () => {
    expect(() => parseConfigFile('contexts: [\n  {', '/c.yaml')).toThrow(/^\/c\.yaml:\d+: not YAML/);
    expect(() => parseConfigFile('apiVersion: tidepool/v1\nkind: Config\ncontexts: [{name: a}]\n', '/c.yaml')).toThrow(
      /\/c\.yaml is not a Tidepool client config: \/contexts\/0\/server/,
    );
    const twice =
      'apiVersion: tidepool/v1\nkind: Config\ncontexts: [{name: a, server: "http://x"}, {name: a, server: "http://y"}]\n';
    expect(() => parseConfigFile(twice, '/c.yaml')).toThrow('/contexts/1/name: context "a" is declared twice');
    expect(parseConfigFile('', '/c.yaml')).toEqual(emptyConfigFile());
  });

  it('is an empty config when there is none, and is written whole with mode 0600', async () => {
    const path = join(dir, 'sub', 'config.yaml');
    expect(await readConfigFile(path)).toEqual(emptyConfigFile());
    const cfg = withContext(emptyConfigFile(), { name: 'a', server: 'http://127.0.0.1:1', auth: { token: 'tp_x' } });
    await writeConfigFile(path, { ...cfg, currentContext: 'a' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readConfigFile(path)).toEqual({ ...cfg, currentContext: 'a' });
    expect(await readdir(join(dir, 'sub'))).toEqual(['config.yaml']);
    expect(await readFile(path, 'utf8')).toMatch(/^# Tidepool client config/);
  });

  it('refuses a file others can read', async () => {
    const path = join(dir, 'open.yaml');
    await writeFile(path, '', { mode: 0o640 });
    await expect(readConfigFile(path)).rejects.toThrow(`run chmod 600 ${path}`);
  });

  it('names a context after its server', () => {
    expect(contextNameFor('http://127.0.0.1:7080')).toBe('127.0.0.1-7080');
    expect(contextNameFor('https://tidepool.example.com')).toBe('tidepool.example.com');
    expect(contextNameFor('http://[::1]:7080')).toBe('--1-7080');
  });
});
