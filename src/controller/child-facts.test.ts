// What the machines read of a run's children: an update that changes none of it wakes no pass, so
// each fact a machine reads must change the string, and the noise of a normal run must not.
import type { V1Job, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { jobFacts, podFacts, pvcFacts } from './child-facts.js';

const meta = { name: 'x', namespace: 'ns', uid: 'u', labels: { a: 'b' }, resourceVersion: '1' };

describe('pvcFacts', () => {
  const pending: V1PersistentVolumeClaim = { metadata: meta, spec: {}, status: { phase: 'Pending' } };
  it('ignores the binder naming the volume and its bookkeeping annotations', () => {
    const named = {
      ...pending,
      metadata: { ...meta, resourceVersion: '2', annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
      spec: { volumeName: 'pv-1' },
    };
    expect(pvcFacts(named)).toBe(pvcFacts(pending));
  });
  it('changes when it binds, grows, is deleted, or changes owner, labels or our annotations', () => {
    const base = pvcFacts(pending);
    expect(pvcFacts({ ...pending, status: { phase: 'Bound' } })).not.toBe(base);
    expect(pvcFacts({ ...pending, status: { phase: 'Pending', capacity: { storage: '2Gi' } } })).not.toBe(
      base,
    );
    expect(pvcFacts({ ...pending, metadata: { ...meta, deletionTimestamp: new Date() } })).not.toBe(base);
    expect(pvcFacts({ ...pending, metadata: { ...meta, labels: {} } })).not.toBe(base);
    const owned = {
      ...meta,
      ownerReferences: [{ apiVersion: 'v1', kind: 'DataMover', name: 'd', uid: 'o' }],
    };
    expect(pvcFacts({ ...pending, metadata: owned })).not.toBe(base);
    const ours = { ...meta, annotations: { 'datamover.io/restored-by-name': 'r' } };
    expect(pvcFacts({ ...pending, metadata: ours })).not.toBe(base);
  });
});

describe('jobFacts', () => {
  const running: V1Job = { metadata: meta, status: { active: 1, startTime: new Date(0) } };
  it("ignores the ready count and the Job's times", () => {
    expect(jobFacts({ ...running, status: { ...running.status, ready: 1, terminating: 0 } })).toBe(
      jobFacts(running),
    );
  });
  it('changes with its pod counts, finalized or not, and its conditions', () => {
    const base = jobFacts(running);
    expect(
      jobFacts({ ...running, status: { active: 0, uncountedTerminatedPods: { succeeded: ['p'] } } }),
    ).not.toBe(base);
    expect(jobFacts({ ...running, status: { active: 0, succeeded: 1 } })).not.toBe(base);
    const complete = { ...running.status, conditions: [{ type: 'Complete', status: 'True' }] };
    expect(jobFacts({ ...running, status: complete })).not.toBe(base);
    expect(jobFacts({ ...running, status: { ...running.status, failed: 1 } })).not.toBe(base);
  });
});

describe('podFacts', () => {
  const pending: V1Pod = { metadata: meta, spec: { containers: [] }, status: { phase: 'Pending' } };
  it('ignores scheduling, addresses and a container being created', () => {
    const scheduled: V1Pod = {
      ...pending,
      spec: { containers: [], nodeName: 'n' },
      status: {
        phase: 'Pending',
        podIP: '10.0.0.1',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: [
          {
            name: 'mover',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ContainerCreating' } },
          },
        ],
      },
    };
    expect(podFacts(scheduled)).toBe(podFacts(pending));
  });
  it('changes with its phase, a start problem, and how its containers ended', () => {
    const base = podFacts(pending);
    expect(podFacts({ ...pending, status: { phase: 'Running' } })).not.toBe(base);
    const status = (state: object) => ({
      phase: 'Pending',
      containerStatuses: [{ name: 'mover', image: 'i', imageID: '', ready: false, restartCount: 0, state }],
    });
    expect(podFacts({ ...pending, status: status({ waiting: { reason: 'ImagePullBackOff' } }) })).not.toBe(
      base,
    );
    const ended = { ...status({ terminated: { exitCode: 0, message: '{"ok":true}' } }), phase: 'Succeeded' };
    const endedOther = {
      ...status({ terminated: { exitCode: 0, message: '{"ok":false}' } }),
      phase: 'Succeeded',
    };
    expect(podFacts({ ...pending, status: ended })).not.toBe(podFacts({ ...pending, status: endedOther }));
    const unschedulable = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no node' }],
    };
    expect(podFacts({ ...pending, status: unschedulable })).not.toBe(base);
  });
});
