// Stands in for undici in the operator's bundle. client-node's KubeConfig imports undici's Agent and
// ProxyAgent for the requests client-node itself would send (createDispatcher); the operator sends
// none through it: its requests and watches go on node:https (src/kube/connection.ts). Loading undici
// cost 8 MiB of the operator's idle memory (BENCHMARKS.md, issue 22). Anything that reaches
// for it throws at once, saying so. client-node's Watch, log, metrics and health clients import
// `fetch`: rolldown.config.mjs fails the build if any of them is kept. (The generated APIs' HTTP
// library imports it too and stays, reachable only from KubeConfig.makeApiClient, never called.)
const message = (name) =>
  `undici's ${name} is not in the operator's bundle: requests go through src/kube/connection.ts`;
const absent = (name) =>
  class {
    constructor() {
      throw new Error(message(name));
    }
  };

export const Agent = absent('Agent');
export const ProxyAgent = absent('ProxyAgent');
export function fetch() {
  throw new Error(message('fetch'));
}
