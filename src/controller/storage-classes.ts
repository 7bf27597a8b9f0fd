// A storage class's volumeBindingMode, read from the API and kept a minute: whether a claim of that
// class is ready when Bound or already when it waits for its first consumer (clones, restore targets).
import type { KubeApi } from '../kube/client.js';

const TTL_MS = 60_000;

export class BindingModes {
  private readonly cache = new Map<string, { mode: string | undefined; at: number }>();

  constructor(private readonly api: Pick<KubeApi, 'storageClassBindingMode'>) {}

  async of(storageClass: string | undefined): Promise<string | undefined> {
    if (!storageClass) return undefined;
    const cached = this.cache.get(storageClass);
    if (cached && Date.now() - cached.at < TTL_MS) return cached.mode;
    const mode = await this.api.storageClassBindingMode(storageClass);
    this.cache.set(storageClass, { mode, at: Date.now() });
    return mode;
  }
}
