/** Public surface of the caching forward proxy. */
export { createProxyServer, ProxyServer, type ProxyServerOptions, type ProxyServerEvents, type ProxyServerEvent } from "./server.js";
export { type AccessRecord, type ProxyStats } from "./stats.js";
export { CacheStore, type CacheStoreOptions, type StoredEntry } from "./cache/store.js";
export {
  isStorable,
  freshnessLifetime,
  currentAge,
  decideReuse,
  entryFacts,
  varyMatches,
  type StoredMeta,
  type Reuse,
  type Freshness,
  type EntryFacts,
  type PolicyOptions,
} from "./cache/policy.js";
export { freshenFrom304, invalidatedUris } from "./cache/validation.js";
export { formatCacheStatus, type CacheOutcome } from "./cache/cache-status.js";
