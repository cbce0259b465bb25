// A real Prometheus (Debian's `prometheus`) on loopback for the monitoring tests: a config
// written by the test, its HTTP API queried, and the process ended by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closedPort } from '../cli/helpers.js';
import { until } from '../incus/helpers.js';

export interface Prometheus {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

export async function startPrometheus(dir: string, target: string, rules: string): Promise<Prometheus> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'rules.yml'), rules);
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'rule_files: [rules.yml]',
      'scrape_configs:',
      `  - {job_name: tidepool, static_configs: [{targets: ["${target}"]}]}`,
      '',
    ].join('\n'),
  );
  const port = await closedPort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const p: Prometheus = {
    child,
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
  await until(
    `prometheus ready on ${url} (log: ${log})`,
    async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok || undefined,
    30_000,
  );
  return p;
}

/** The value of an instant query that returns one series, or undefined while it returns none. */
export async function query(p: Prometheus, promql: string): Promise<number | undefined> {
  const res = await fetch(`${p.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
  const r = body.data?.result ?? [];
  return r.length ? Number(r[0]!.value[1]) : undefined;
}

export interface Alert {
  labels: Record<string, string>;
  state: string;
}

export async function alerts(p: Prometheus): Promise<Alert[]> {
  const res = await fetch(`${p.url}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: Alert[] } }).data.alerts;
}
