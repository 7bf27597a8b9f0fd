// A StorageClass as the operator reads it: its binding mode, and its own run cap (annotation).
import { describe, expect, it } from 'vitest';
import { RUN_CAP_ANNOTATION, StorageClasses, parseRunCap } from './storage-classes.js';

describe('a class run cap annotation', () => {
  it('is a whole number; 0 lifts the cap for the class; anything else is kept as invalid', () => {
    expect(parseRunCap(undefined)).toBeUndefined();
    expect(parseRunCap('3')).toEqual({ cap: 3 });
    expect(parseRunCap(' 12 ')).toEqual({ cap: 12 });
    expect(parseRunCap('0')).toEqual({ cap: 0 });
    for (const bad of ['', '-1', '2.5', 'three', '1e3', '10000000000'])
      expect(parseRunCap(bad)).toEqual({ invalid: bad });
  });
});

describe('StorageClasses', () => {
  it('reads a class once a minute, and knows its cap without a request once read', async () => {
    let now = 0;
    const reads: string[] = [];
    const classes = new StorageClasses(
      {
        storageClass: async (name) => {
          reads.push(name);
          return name === 'gone'
            ? undefined
            : { volumeBindingMode: 'WaitForFirstConsumer', annotations: { [RUN_CAP_ANNOTATION]: '2' } };
        },
      },
      () => now,
    );
    expect(classes.knownRunCap('fast')).toBeUndefined();
    expect(await classes.runCap('fast')).toEqual({ cap: 2 });
    expect(await classes.bindingMode('fast')).toBe('WaitForFirstConsumer');
    expect(classes.knownRunCap('fast')).toEqual({ cap: 2 });
    expect(reads).toEqual(['fast']);
    now = 61_000;
    await classes.bindingMode('fast');
    expect(reads).toEqual(['fast', 'fast']);
    expect(await classes.runCap('gone')).toBeUndefined();
    expect(await classes.runCap(undefined)).toBeUndefined();
    expect(reads).toEqual(['fast', 'fast', 'gone']);
  });

  it('sends one request for passes that miss the cache at once', async () => {
    let calls = 0;
    const classes = new StorageClasses({
      storageClass: async () => {
        calls++;
        return { annotations: { [RUN_CAP_ANNOTATION]: '4' } };
      },
    });
    const caps = await Promise.all([1, 2, 3].map(() => classes.runCap('fast')));
    expect(caps).toEqual([{ cap: 4 }, { cap: 4 }, { cap: 4 }]);
    expect(calls).toBe(1);
  });

  it('answers a class it may not read as unreadable, asked again only after a minute; throws what is worth a retry', async () => {
    let now = 0;
    let calls = 0;
    const classes = new StorageClasses(
      {
        storageClass: async (name) => {
          calls++;
          throw Object.assign(new Error(name === 'busy' ? 'busy' : 'forbidden'), {
            code: name === 'busy' ? 503 : 403,
          });
        },
      },
      () => now,
    );
    expect(await classes.runCap('fast')).toEqual({ unreadable: 'forbidden' });
    expect(await classes.runCap('fast')).toEqual({ unreadable: 'forbidden' });
    expect(calls).toBe(1);
    now = 61_000;
    await classes.runCap('fast');
    expect(calls).toBe(2);
    await expect(classes.runCap('busy')).rejects.toThrow('busy');
  });
});
