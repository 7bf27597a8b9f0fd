// The pure parts of the test-real volumes (test/support/host-volumes.ts) and of the Dockerfile reader
// the real tier checks the mover image with; the real tier (test/real) proves the rest on the node.
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { copiesInto, parseFinalStage } from '../support/dockerfile.js';
import {
  cloneSourceOf,
  copyCommand,
  folderFor,
  folderOf,
  hostClassOf,
  hostVolumeFor,
  makeFolder,
  snapshotSourceOf,
} from '../support/host-volumes.js';
import { tempDir } from '../support/tree.js';

const claim = (spec: V1PersistentVolumeClaim['spec'] = {}): V1PersistentVolumeClaim => ({
  metadata: { name: 'data', namespace: 'ns', uid: '1234-abcd' },
  spec: { resources: { requests: { storage: '2Gi' } }, accessModes: ['ReadWriteOnce'], ...spec },
});

describe('a host-folder StorageClass', () => {
  it('is one with hostFolders "true", and must name its node', () => {
    expect(hostClassOf({ hostFolders: 'true', node: 'realnode' })).toEqual({ node: 'realnode', csi: false });
    expect(hostClassOf({ hostFolders: 'true', node: 'realnode', csi: 'true' })).toEqual({
      node: 'realnode',
      csi: true,
    });
    expect(hostClassOf(undefined)).toBeUndefined();
    expect(hostClassOf({ node: 'realnode' })).toBeUndefined();
    expect(() => hostClassOf({ hostFolders: 'true' })).toThrow(/must name its node/);
  });

  it('makes a hostPath PV bound to the claim that only the class node can mount', () => {
    const pv = hostVolumeFor(
      claim(),
      'test-real',
      { node: 'realnode', csi: false },
      '/state/volumes/pvc-1234-abcd',
      'p',
    );
    expect(pv.metadata?.name).toBe('pvc-1234-abcd');
    expect(pv.spec?.hostPath).toEqual({ path: '/state/volumes/pvc-1234-abcd', type: 'Directory' });
    expect(pv.spec?.claimRef).toMatchObject({ namespace: 'ns', name: 'data', uid: '1234-abcd' });
    expect(pv.spec?.capacity).toEqual({ storage: '2Gi' });
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['realnode'] }] },
    ]);
  });

  it('makes a CSI PV of the node plugin for a csi class, its handle the folder name', () => {
    const cls = { node: 'realnode', csi: true };
    const pv = hostVolumeFor(claim(), 'test-real-csi', cls, '/state/volumes/pvc-1234-abcd', 'p');
    expect(pv.spec?.hostPath).toBeUndefined();
    expect(pv.spec?.csi).toEqual({
      driver: 'hostfolders.test.datamover.io',
      volumeHandle: 'pvc-1234-abcd',
      volumeAttributes: { folder: '/state/volumes/pvc-1234-abcd' },
    });
    expect(folderOf(pv, '/state/volumes')).toBe('/state/volumes/pvc-1234-abcd');
    const other = { spec: { csi: { driver: 'other.csi', volumeHandle: 'pvc-1' } } };
    expect(folderOf(other, '/state/volumes')).toBeUndefined();
    const escape = { spec: { csi: { driver: 'hostfolders.test.datamover.io', volumeHandle: '../etc' } } };
    expect(folderOf(escape, '/state/volumes')).toBeUndefined();
  });

  it('provisions from a VolumeSnapshot named by dataSource or dataSourceRef, and from nothing else', () => {
    const snap = { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io' };
    expect(snapshotSourceOf(claim({ dataSource: snap }))).toBe('snap');
    expect(snapshotSourceOf(claim({ dataSourceRef: snap }))).toBe('snap');
    expect(snapshotSourceOf(claim({ dataSource: { ...snap, apiGroup: 'other.io' } }))).toBeUndefined();
    expect(
      snapshotSourceOf(claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'p' } })),
    ).toBeUndefined();
  });

  it('clones from a PVC named by dataSource or dataSourceRef, and from nothing else', () => {
    expect(cloneSourceOf(claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } }))).toBe('src');
    expect(
      cloneSourceOf(claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'ref', apiGroup: '' } })),
    ).toBe('ref');
    expect(
      cloneSourceOf(
        claim({ dataSource: { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io' } }),
      ),
    ).toBeUndefined();
    expect(cloneSourceOf(claim())).toBeUndefined();
  });

  it('keeps folders directly below its root, and never touches another path', () => {
    expect(folderFor('/state/volumes', 'pvc-1')).toBe('/state/volumes/pvc-1');
    expect(() => folderFor('/state/volumes', '../etc')).toThrow(/not a PV name/);
    const pv = (path: string) => ({ spec: { hostPath: { path } } });
    expect(folderOf(pv('/state/volumes/pvc-1'), '/state/volumes')).toBe('/state/volumes/pvc-1');
    for (const path of [
      '/state/volumes',
      '/state/volumes/../etc',
      '/etc',
      '/state/volumes/a/b',
      'relative',
    ]) {
      expect(folderOf(pv(path), '/state/volumes'), path).toBeUndefined();
    }
    expect(folderOf({ spec: {} }, '/state/volumes')).toBeUndefined();
  });

  it('copies with cp -a and holes kept', () => {
    expect(copyCommand('/v/a', '/v/b')).toEqual([
      'cp',
      ['-a', '--sparse=always', '--no-target-directory', '/v/a/.', '/v/b'],
    ]);
  });

  it('makes a new volume empty and writable by anyone, and a clone a copy with modes, times, links and holes', async () => {
    const root = tempDir('dm-volumes-');
    await makeFolder(join(root, 'pvc-new'));
    expect(statSync(join(root, 'pvc-new')).mode & 0o7777).toBe(0o777);
    const src = join(root, 'pvc-src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub/file'), 'content');
    utimesSync(join(src, 'sub/file'), new Date('2021-01-02T03:04:05Z'), new Date('2021-01-02T03:04:05Z'));
    symlinkSync('sub/file', join(src, 'link'));
    execFileSync('truncate', ['-s', '64M', join(src, 'sparse')]);
    await makeFolder(join(root, 'pvc-clone'), src);
    writeFileSync(join(src, 'sub/file'), 'changed after the clone');
    const clone = join(root, 'pvc-clone');
    expect(readFileSync(join(clone, 'sub/file'), 'utf8')).toBe('content');
    expect(statSync(join(clone, 'sub/file')).mtime.toISOString()).toBe('2021-01-02T03:04:05.000Z');
    expect(lstatSync(join(clone, 'link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(clone, 'link'))).toBe('sub/file');
    expect(statSync(join(clone, 'sparse')).size).toBe(64 * 1024 * 1024);
    expect(statSync(join(clone, 'sparse')).blocks).toBe(0);
    // A folder that exists is whole: a retried claim keeps it.
    await makeFolder(clone, src);
    expect(readFileSync(join(clone, 'sub/file'), 'utf8')).toBe('content');
  });
});

describe('the final stage of a Dockerfile', () => {
  const dockerfile = `
FROM golang AS rclone
COPY x /y
FROM node AS build
COPY src ./src
FROM node:24-slim
COPY --from=rclone /out/rclone /usr/local/bin/rclone
# a comment
COPY --from=build /src/dist/mover \\
  /app/dist/mover
RUN printf '{"type":"module"}\\n' > /app/package.json
ENV HOME=/tmp
USER 65534:65534
ENTRYPOINT ["node", "/app/dist/mover/entrypoint.js"]
`;

  it('lists its COPY lines, the files RUN printf writes, the entrypoint, user and environment', () => {
    const stage = parseFinalStage(dockerfile);
    expect(stage.copies).toEqual([
      { from: 'rclone', source: '/out/rclone', destination: '/usr/local/bin/rclone' },
      { from: 'build', source: '/src/dist/mover', destination: '/app/dist/mover' },
    ]);
    expect(copiesInto(stage, '/app').map((c) => c.destination)).toEqual(['/app/dist/mover']);
    expect(stage.written).toEqual({ '/app/package.json': '{"type":"module"}\n' });
    expect(stage.entrypoint).toEqual(['node', '/app/dist/mover/entrypoint.js']);
    expect(stage.user).toBe('65534:65534');
    expect(stage.env).toEqual({ HOME: '/tmp' });
  });

  it("reads the operator's Dockerfile: relative COPY destinations below WORKDIR, its ports", () => {
    const stage = parseFinalStage(readFileSync('Dockerfile', 'utf8'));
    expect(stage.workdir).toBe('/app');
    expect(copiesInto(stage, '/app').map((c) => [c.from, c.source, c.destination])).toEqual([
      ['build', '/src/package.json', '/app/package.json'],
      ['build', '/src/node_modules', '/app/node_modules'],
      ['build', '/src/dist/operator', '/app/dist/operator'],
    ]);
    expect(stage.exposed).toEqual(['8080/tcp', '8081/tcp']);
    expect(stage.user).toBe('65532:65532');
    expect(stage.env).toEqual({ NODE_ENV: 'production' });
  });

  it('reads mover/Dockerfile', () => {
    const stage = parseFinalStage(readFileSync('mover/Dockerfile', 'utf8'));
    expect(copiesInto(stage, '/app').length).toBeGreaterThan(0);
    expect(stage.entrypoint?.[0]).toBe('node');
  });
});
