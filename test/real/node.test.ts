// The real node itself: only local images can run on it (nothing is pulled, no traffic leaves the
// machine), and the mover and operator images assembled for it (hack/realnode-image.sh) hold what
// mover/Dockerfile and Dockerfile ship under /app, with the same entrypoint, user and environment.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, deleteNamespace, kubectl } from '../support/cluster.js';
import { copiesInto, parseFinalStage } from '../support/dockerfile.js';
import { busyboxPod, runPod, skipReason, tier, timed, titled } from '../support/realnode.js';

let ns = '';
beforeAll(async () => {
  if (!skipReason()) ns = await createNamespace('real-node');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

/** Creates `pod` with a server-side dry run: admission (the policy included) runs, nothing starts. */
const admit = (pod: object) =>
  kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], JSON.stringify(pod));

interface ImageConfig {
  Entrypoint: string[];
  User: string;
  Env: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, object>;
}

/** The configuration of a local image's tarball (hack/realnode-image.sh), checked to carry `ref`. */
function imageConfig(tarball: string, ref: string): ImageConfig {
  const tar = join(tier().images, tarball);
  const read = (member: string) => execFileSync('tar', ['-xOf', tar, member], { encoding: 'utf8' });
  const manifest = JSON.parse(read('manifest.json')) as Array<{ Config: string; RepoTags: string[] }>;
  expect(manifest[0]!.RepoTags).toEqual([ref]);
  return (JSON.parse(read(manifest[0]!.Config)) as { config: ImageConfig }).config;
}

describe.skipIf(!!skipReason())(titled('the real node'), () => {
  it('refuses a pod that could run there with an image from a registry, and admits a local one', async () => {
    const local = busyboxPod('local', 'true', []);
    expect((await admit(local)).code).toBe(0);
    const pulled = busyboxPod('pulled', 'true', []);
    pulled.spec.containers[0]!.image = 'docker.io/library/busybox:1.36';
    const refused = await admit(pulled);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('may only use local images named localhost/');
    // Naming the node skips the scheduler and its taint: the policy refuses that too.
    const named = { ...pulled, spec: { ...pulled.spec, tolerations: [], nodeName: tier().node } };
    expect((await admit(named)).stderr).toContain('may only use local images named localhost/');
    // An init container is no way around it.
    const init = busyboxPod('init', 'true', []);
    const initContainers = [{ ...init.spec.containers[0]!, name: 'init', image: 'registry.example/x:1' }];
    expect((await admit({ ...init, spec: { ...init.spec, initContainers } })).stderr).toContain(
      'may only use local images named localhost/',
    );
  });

  it('gives pods no way off the machine: no default route, no nameserver but loopback', async () => {
    const out = await runPod(
      ns,
      busyboxPod('net', 'cat /proc/net/route; echo ---; cat /etc/resolv.conf', []),
    );
    const [routes = '', resolv = ''] = out.split('---\n');
    // /proc/net/route: Iface, Destination (hex), Gateway, ...; a default route has destination 0.
    const table = routes
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    expect(table.length).toBeGreaterThan(0);
    expect(table.filter((r) => r[1] === '00000000')).toEqual([]);
    // One route with a gateway: the Service range to the bridge, where the `kubernetes` Service is
    // delivered on this machine (little-endian hex: 10.0.0.0/24 via 10.244.77.1).
    expect(table.filter((r) => r[2] !== '00000000').map((r) => [r[1], r[2], r[7]])).toEqual([
      ['0000000A', '014DF40A', '00FFFFFF'],
    ]);
    // And nothing is forwarded: a packet for another host has nowhere to go.
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('0');
    const nameservers = resolv.split('\n').filter((l) => /^\s*nameserver\s/.test(l));
    for (const line of nameservers) expect(line.trim().split(/\s+/)[1]).toMatch(/^(127\.|::1$)/);
  });

  it('lets pods reach the apiserver as in any cluster: the `kubernetes` Service, verified TLS, the token', async () => {
    // In-cluster configuration, as the operator's pod uses it: KUBERNETES_SERVICE_HOST/PORT (the
    // Service's 10.0.0.1:443), the ServiceAccount's CA and token.
    const get = `const fs=require('fs'),https=require('https');const d='/var/run/secrets/kubernetes.io/serviceaccount/';https.get({host:process.env.KUBERNETES_SERVICE_HOST,port:process.env.KUBERNETES_SERVICE_PORT,path:'/version',ca:fs.readFileSync(d+'ca.crt'),headers:{authorization:'Bearer '+fs.readFileSync(d+'token','utf8')}},r=>{let b='';r.on('data',c=>b+=c);r.on('end',()=>console.log(r.statusCode+' '+process.env.KUBERNETES_SERVICE_HOST+':'+process.env.KUBERNETES_SERVICE_PORT+' '+JSON.parse(b).gitVersion))}).on('error',e=>{console.log('ERR '+e.message);process.exit(1)})`;
    const pod = busyboxPod('apiserver', '', [], 65532);
    pod.spec.containers[0] = {
      ...pod.spec.containers[0]!,
      image: tier().operatorImage,
      command: ['node', '-e', get],
    };
    expect((await runPod(ns, pod)).trim()).toMatch(/^200 10\.0\.0\.1:443 v1\.34\.\d+$/);
  });

  it("runs the mover image with mover/Dockerfile's files under /app, entrypoint, user and HOME", async () => {
    const stage = parseFinalStage(readFileSync('mover/Dockerfile', 'utf8'));
    // What the Dockerfile puts under /app: its COPY lines from the build stage (dist/ of /src, test
    // files deleted) and the files its RUN lines write there.
    const expected: Record<string, string> = {};
    const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
    for (const copy of copiesInto(stage, '/app')) {
      expect(copy.from, `${copy.source} comes from the build stage`).toBe('build');
      const local = relative('/src', copy.source);
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else if (!/\.test\.js/.test(name))
            expected[join(copy.destination, relative(local, path))] = sha(readFileSync(path));
        }
      };
      walk(local);
    }
    for (const [path, content] of Object.entries(stage.written))
      if (path.startsWith('/app/')) expected[path] = sha(content);
    expect(Object.keys(expected).length).toBeGreaterThan(10);

    // What the image holds under /app, listed by a pod of the image on the real node.
    const list = `const fs=require('fs'),c=require('crypto');const w=d=>{for(const e of fs.readdirSync(d,{withFileTypes:true})){const p=d+'/'+e.name;if(e.isDirectory())w(p);else console.log(c.createHash('sha256').update(fs.readFileSync(p)).digest('hex')+' '+p)}};w('/app')`;
    const pod = busyboxPod('list-app', '', [], 65534);
    pod.spec.containers[0] = {
      ...pod.spec.containers[0]!,
      image: tier().moverImage,
      command: ['node', '-e', list],
    };
    const out = await timed('mover image pod', () => runPod(ns, pod));
    const held: Record<string, string> = {};
    for (const line of out.trim().split('\n')) held[line.slice(65)] = line.slice(0, 64);
    expect(held).toEqual(expected);

    // The image's configuration: the Dockerfile's entrypoint, user and HOME.
    const config = imageConfig('datamover-mover.tar', tier().moverImage);
    expect(config.Entrypoint).toEqual(stage.entrypoint);
    expect(config.User).toBe(stage.user);
    for (const [k, v] of Object.entries(stage.env)) expect(config.Env).toContain(`${k}=${v}`);
  });

  it("runs the operator image with Dockerfile's files under /app, its entrypoint, user, workdir and ports", async () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const stage = parseFinalStage(dockerfile);
    const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
    // The build stage installs the lock file's tree and prunes it as below: what is left is every
    // package the lock file does not mark dev-only. npm's own bookkeeping (.bin links, the hidden
    // lock file, both rewritten by the prune) is checked apart.
    expect(dockerfile).toContain('npm ci --no-audit --no-fund --ignore-scripts');
    expect(dockerfile).toContain('npm prune --omit=dev --ignore-scripts');
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { dev?: boolean; link?: boolean }>;
    };
    const production = Object.entries(lock.packages)
      .filter(([key, p]) => key.startsWith('node_modules/') && !p.dev && !p.link)
      .map(([key]) => key)
      .sort();
    const expected: Record<string, string> = {};
    const walk = (dir: string, to: string, skipModules: boolean) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
          if (!(skipModules && name === 'node_modules')) walk(path, join(to, name), skipModules);
        } else expected[join(to, name)] = sha(readFileSync(path));
      }
    };
    for (const copy of copiesInto(stage, '/app')) {
      expect(copy.from, `${copy.source} comes from the build stage`).toBe('build');
      const local = relative('/src', copy.source);
      if (local === 'node_modules') {
        for (const key of production) walk(key, join('/app', key), true);
      } else if (statSync(local).isDirectory()) walk(local, copy.destination, false);
      else expected[copy.destination] = sha(readFileSync(local));
    }
    expect(Object.keys(expected).length).toBeGreaterThan(1000);

    // What the image holds under /app, listed by a pod of the image on the real node, as its user.
    const list = `const fs=require('fs'),c=require('crypto');const w=d=>{for(const e of fs.readdirSync(d,{withFileTypes:true})){const p=d+'/'+e.name;if(e.isDirectory())w(p);else if(e.isFile())console.log(c.createHash('sha256').update(fs.readFileSync(p)).digest('hex')+' '+p)}};w('/app');console.log('LOCK '+JSON.stringify(Object.keys(require('/app/node_modules/.package-lock.json').packages).sort()))`;
    const pod = busyboxPod('list-operator', '', [], 65532);
    pod.spec.containers[0] = {
      ...pod.spec.containers[0]!,
      image: tier().operatorImage,
      command: ['node', '-e', list],
    };
    const out = await timed('operator image pod', () => runPod(ns, pod, 120_000));
    const held: Record<string, string> = {};
    let bookkept: string[] = [];
    for (const line of out.trim().split('\n')) {
      if (line.startsWith('LOCK ')) bookkept = JSON.parse(line.slice(5)) as string[];
      else if (!/^\/app\/node_modules\/(\.bin\/|\.package-lock\.json$)/.test(line.slice(65)))
        held[line.slice(65)] = line.slice(0, 64);
    }
    expect(held).toEqual(expected);
    expect(bookkept).toEqual(production);

    // Its entrypoint, as the image runs it (no command given): the operator answers --help.
    const help = busyboxPod('operator-help', '', [], 65532);
    const container: Record<string, unknown> = { ...help.spec.containers[0]!, image: tier().operatorImage };
    delete container.command;
    help.spec.containers[0] = { ...container, args: ['--help'] } as never;
    expect(await runPod(ns, help)).toContain('--max-concurrent-runs');

    // The image's configuration: the Dockerfile's entrypoint, user, workdir, environment and ports.
    const config = imageConfig('datamover-operator.tar', tier().operatorImage);
    expect(config.Entrypoint).toEqual(stage.entrypoint);
    expect(config.User).toBe(stage.user);
    expect(config.WorkingDir).toBe(stage.workdir);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(stage.exposed);
    for (const [k, v] of Object.entries(stage.env)) expect(config.Env).toContain(`${k}=${v}`);
  });
});
