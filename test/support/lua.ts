// Runs the Argo CD health script with a real Lua interpreter against an object, as Argo CD does.
import { execFile } from 'node:child_process';

function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(',')}}`;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => `[${JSON.stringify(k)}]=${luaLiteral(v)}`,
  );
  return `{${entries.join(',')}}`;
}

export function argoHealth(script: string, obj: unknown): Promise<{ status: string; message: string }> {
  const program = `obj = ${luaLiteral(obj)}\nlocal hs = dofile(${JSON.stringify(script)})\nprint(hs.status)\nprint(hs.message)`;
  return new Promise((resolve, reject) => {
    execFile('lua5.4', ['-e', program], (err, stdout, stderr) => {
      if (err) return reject(new Error(`lua failed: ${stderr}`, { cause: err }));
      const [status = '', ...rest] = stdout.trimEnd().split('\n');
      resolve({ status, message: rest.join('\n') });
    });
  });
}
