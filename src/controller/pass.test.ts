// The reconcile pass on its own, with a test-only kind (a counter that steps through phases): the order
// it promises (fence before every action and the write, one guarded write, records only after it),
// a conflict, a refused action in a pass that entered a phase, a write that fails, and a lost answer
// counted once when it shows.
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { NotLeaderError } from '../kube/client.js';
import type { EventRecord } from '../kube/events.js';
import { Pass, type Decision, type Performed, type RunKind, type Transition } from './pass.js';
import { ConflictError } from './runtime.js';

interface Status {
  phase?: string;
  steps?: number;
}
interface Obj {
  metadata: { namespace: string; name: string; resourceVersion?: string; deletionTimestamp?: string };
  status?: Status;
}
type Action = { type: 'step'; refuse?: boolean } | { type: 'tell' } | { type: 'spawn' };

const silent = winston.createLogger({ silent: true });

/** A kind whose machine is given by the test, and that logs every call it gets, in order. */
class TestKind implements RunKind<Obj, Status, { seen: number }, Action> {
  readonly kind = 'TestRun';
  readonly calls: string[] = [];
  readonly records: Array<Transition<Status>> = [];
  cache: Obj | undefined;
  writeError: unknown;
  private version = 1;

  constructor(
    private readonly machine: (o: Obj) => Decision<Status, Action>,
    initial: Obj | undefined,
  ) {
    this.cache = initial;
  }

  cached(): Obj | undefined {
    return this.cache;
  }
  seen(): void {
    this.calls.push('seen');
  }
  async observe(): Promise<{ seen: number }> {
    this.calls.push('observe');
    return { seen: 1 };
  }
  decide(o: Obj): Decision<Status, Action> {
    this.calls.push('decide');
    return this.machine(o);
  }
  async perform(
    _o: Obj,
    a: Action,
    status: Status,
    _now: Date,
    events: EventRecord[],
  ): Promise<Performed<Status>> {
    this.calls.push(`perform ${a.type}`);
    if (a.type === 'tell') {
      events.push({ type: 'Warning', reason: 'Told', message: 'by an action' });
      return { status };
    }
    if (a.type === 'spawn') return { status, wakes: true };
    if (a.refuse) return { status: { ...status, phase: 'Failed' }, refused: true };
    return { status: { ...status, steps: (status.steps ?? 0) + 1 } };
  }
  async replaceStatus(o: Obj): Promise<Obj> {
    this.calls.push('write');
    if (this.writeError) throw this.writeError;
    this.version += 1;
    return { ...o, metadata: { ...o.metadata, resourceVersion: String(this.version) } };
  }
  record(_o: Obj, t: Transition<Status>): void {
    this.calls.push('record');
    this.records.push(t);
  }
  /** The object as the apiserver now shows it, in the cache (a newer resourceVersion). */
  shows(status: Status): void {
    this.version += 1;
    this.cache = { metadata: { ...this.cache!.metadata, resourceVersion: String(this.version) }, status };
  }
}

function setup(machine: (o: Obj) => Decision<Status, Action>, status: Status = {}) {
  const kind = new TestKind(machine, {
    metadata: { namespace: 'ns', name: 'a', resourceVersion: '1' },
    status,
  });
  const fences: string[] = [];
  let leader = true;
  const api = {
    fence: () => {
      kind.calls.push('fence');
      fences.push('fence');
      if (!leader) throw new NotLeaderError('lease lost');
    },
  };
  const conflicts = { count: 0, inc: () => (conflicts.count += 1) };
  const pass = new Pass(kind, api, conflicts, silent, {}, () => new Date('2026-01-01T00:00:00Z'));
  return { kind, pass, conflicts, loseLease: () => (leader = false) };
}

const twoSteps = (): Decision<Status, Action> => ({
  status: { phase: 'Running' },
  actions: [{ type: 'step' }, { type: 'step' }],
  requeueAfterMs: 5_000,
  events: [{ type: 'Normal', reason: 'Decided', message: 'by the machine' }],
});

describe('the reconcile pass', () => {
  it('fences every action and the write, writes once, and records only after the write', async () => {
    const { kind, pass } = setup(twoSteps);
    expect(await pass.reconcile('ns/a')).toEqual({ requeueAfterMs: 5_000 });
    expect(kind.calls).toEqual([
      'seen',
      'observe',
      'decide',
      'fence',
      'perform step',
      'fence',
      'perform step',
      'fence',
      'write',
      'record',
    ]);
    expect(kind.records).toEqual([
      {
        before: {},
        status: { phase: 'Running', steps: 2 },
        now: new Date('2026-01-01T00:00:00Z'),
        events: [{ type: 'Normal', reason: 'Decided', message: 'by the machine' }],
      },
    ]);
  });

  it('works from its own write while the cache lags, and writes nothing when nothing changed', async () => {
    const { kind, pass } = setup((o) => ({ status: { ...o.status, phase: 'Running' }, actions: [] }));
    await pass.reconcile('ns/a');
    kind.calls.length = 0;
    // The cache still holds version 1: the pass reads its own write (Running), so it has nothing to write.
    await pass.reconcile('ns/a');
    expect(kind.calls).toEqual(['seen', 'observe', 'decide']);
    expect(kind.records).toHaveLength(1);
  });

  it('on a conflict throws ConflictError, counts it, records nothing, and counts the write once it shows', async () => {
    const { kind, pass, conflicts } = setup(twoSteps);
    kind.writeError = { code: 409, body: '{"message":"the object has been modified"}' };
    await expect(pass.reconcile('ns/a')).rejects.toBeInstanceOf(ConflictError);
    expect(conflicts.count).toBe(1);
    expect(kind.records).toEqual([]);
    // The answer was lost but the write was applied: the next pass sees it and counts it, once.
    kind.writeError = undefined;
    kind.shows({ phase: 'Running', steps: 2 });
    await pass.reconcile('ns/a');
    expect(kind.records[0]).toMatchObject({ before: {}, status: { phase: 'Running', steps: 2 }, events: [] });
    // That pass decides the same status: no write, only the machine's event is told.
    expect(kind.records.slice(1).map((r) => [r.before, r.status, r.events.length])).toEqual([
      [{ phase: 'Running', steps: 2 }, { phase: 'Running', steps: 2 }, 1],
    ]);
    expect(kind.calls.filter((c) => c === 'write')).toHaveLength(1);
  });

  it('on a failed write throws, records nothing, and counts nothing the object does not show', async () => {
    const { kind, pass } = setup(twoSteps);
    kind.writeError = { code: 503, body: 'unavailable' };
    await expect(pass.reconcile('ns/a')).rejects.toThrow('status write failed: unavailable');
    expect(kind.records).toEqual([]);
    // Not applied after all: someone else's change shows instead, and nothing is counted for ours.
    kind.writeError = undefined;
    kind.shows({ phase: 'Pending' });
    await pass.reconcile('ns/a');
    expect(kind.records.map((r) => r.before)).toEqual([{ phase: 'Pending' }]);
  });

  it('writes only the phase it entered when an action is refused, and comes back at once', async () => {
    const { kind, pass } = setup(() => ({
      status: { phase: 'Creating', steps: 0 },
      entered: { phase: 'Creating' },
      actions: [{ type: 'step', refuse: true }, { type: 'step' }],
    }));
    expect(await pass.reconcile('ns/a')).toEqual({ requeueAfterMs: 0 });
    expect(kind.calls.filter((c) => c.startsWith('perform'))).toEqual(['perform step']);
    expect(kind.records.map((r) => r.status)).toEqual([{ phase: 'Creating' }]);
  });

  it('goes on with the refused status when the pass entered no phase', async () => {
    const { kind, pass } = setup(() => ({
      status: { phase: 'Running' },
      actions: [{ type: 'step', refuse: true }],
    }));
    await pass.reconcile('ns/a');
    expect(kind.records.map((r) => r.status)).toEqual([{ phase: 'Failed' }]);
  });

  it('starts no action and writes nothing without the lease', async () => {
    const { kind, pass, loseLease } = setup(twoSteps);
    loseLease();
    await expect(pass.reconcile('ns/a')).rejects.toBeInstanceOf(NotLeaderError);
    expect(kind.calls).toEqual(['seen', 'observe', 'decide', 'fence']);
    expect(kind.records).toEqual([]);
  });

  it("tells an action's events even when the status does not change", async () => {
    const { kind, pass } = setup((o) => ({ status: o.status ?? {}, actions: [{ type: 'tell' }] }), {
      phase: 'Idle',
    });
    await pass.reconcile('ns/a');
    expect(kind.calls).not.toContain('write');
    expect(kind.records.map((r) => r.events)).toEqual([
      [{ type: 'Warning', reason: 'Told', message: 'by an action' }],
    ]);
  });

  it('skips the echo of a write whose pass created a child that wakes it, once', async () => {
    const { kind, pass } = setup(() => ({ status: { phase: 'Running' }, actions: [{ type: 'spawn' }] }));
    await pass.reconcile('ns/a');
    const echo = {
      metadata: { namespace: 'ns', name: 'a', resourceVersion: '2' },
      status: { phase: 'Running' },
    };
    expect(kind.calls).toContain('write');
    expect(pass.isEcho(echo, 'update')).toBe(true);
    expect(pass.isEcho(echo, 'update')).toBe(false);
    expect(pass.remembered).toBe(0);
  });

  it('wakes for the echo of a write whose pass created nothing, and for another version', async () => {
    const quiet = setup(() => ({ status: { phase: 'Done' }, actions: [] }));
    await quiet.pass.reconcile('ns/a');
    const at = (resourceVersion: string) => ({
      metadata: { namespace: 'ns', name: 'a', resourceVersion },
      status: { phase: 'Done' },
    });
    // What a pass observes depends on the phase it finds: the echo of a new phase gets its pass.
    expect(quiet.pass.isEcho(at('2'), 'update')).toBe(false);
    const acting = setup(twoSteps);
    await acting.pass.reconcile('ns/a');
    expect(acting.pass.isEcho(at('2'), 'update')).toBe(false);
    const spawning = setup(() => ({ status: { phase: 'Running' }, actions: [{ type: 'spawn' }] }));
    await spawning.pass.reconcile('ns/a');
    // Someone else wrote after us, or it was deleted: never an echo.
    expect(spawning.pass.isEcho(at('3'), 'update')).toBe(false);
    expect(spawning.pass.isEcho(at('2'), 'update')).toBe(false);
  });

  it('leaves an object being deleted, or gone, alone', async () => {
    const { kind, pass } = setup(twoSteps);
    kind.cache!.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    expect(await pass.reconcile('ns/a')).toEqual({});
    kind.cache = undefined;
    expect(await pass.reconcile('ns/a')).toEqual({});
    expect(kind.calls).toEqual([]);
  });
});
