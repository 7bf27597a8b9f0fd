// Stands in for client-node's ObjectSerializer in the operator's bundle, imported by its ListWatch
// (cache.js) alone, which serializes only label and field selectors, as type 'string': the real one
// returns a string as it is, and keeps every generated model class reachable through its type map
// (about 1 MB of the bundle). rolldown.config.mjs checks that cache.js still uses it that way only.
export const ObjectSerializer = {
  serialize(data, type) {
    if (type !== 'string')
      throw new Error(`the bundle's ObjectSerializer serializes strings only, not ${type}`);
    return data;
  },
};
