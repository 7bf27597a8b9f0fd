// A kubeconfig for a local stand-in apiserver (a test's own HTTP or HTTPS server): one cluster that
// skips TLS verification, one user with the given bearer token (none when undefined).
import { KubeConfig } from '@kubernetes/client-node';

export function standInKubeConfig(server: string, token: string | undefined = 't'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', ...(token === undefined ? {} : { token }) }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** An address nothing listens on: a request to it is refused at once. */
export const NOBODY = 'http://127.0.0.1:1';
