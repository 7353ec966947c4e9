/**
 * A storage adapter for oidc-provider that keeps everything in one Map per IdP instance.
 *
 * oidc-provider's bundled memory adapter shares one module-wide store between providers, caps it
 * at 1000 entries (benchmarks exceed that) and prints a warning on first use. This one is
 * private to its IdP, unbounded, and expires entries lazily (no timers, so Deno's test
 * sanitizers stay quiet).
 */

type Payload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

interface Entry {
  payload: Payload;
  expiresAt: number;
}

export interface AdapterStore {
  /** The factory oidc-provider calls with a model name ("Session", "RefreshToken", ...). */
  factory: (model: string) => ModelAdapter;
  /** Stores a dynamic client (model "Client") so that the provider finds it by id. */
  putClient(metadata: Record<string, unknown>): void;
}

export interface ModelAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export function createAdapterStore(now: () => number = Date.now): AdapterStore {
  const entries = new Map<string, Entry>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();

  function live(key: string): Payload | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  function factory(model: string): ModelAdapter {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        const expiresAt = typeof expiresIn === "number" ? now() + expiresIn * 1000 : Infinity;
        entries.set(key, { payload: structuredClone(payload), expiresAt });
        if (typeof payload.uid === "string") byUid.set(payload.uid, id);
        if (typeof payload.userCode === "string") byUserCode.set(payload.userCode, id);
        if (typeof payload.grantId === "string") {
          const members = byGrant.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          byGrant.set(payload.grantId, members);
        }
        return Promise.resolve();
      },
      find(id) {
        const payload = live(keyOf(id));
        return Promise.resolve(payload === undefined ? undefined : structuredClone(payload));
      },
      findByUid(uid) {
        const id = byUid.get(uid);
        return id === undefined ? Promise.resolve(undefined) : this.find(id);
      },
      findByUserCode(userCode) {
        const id = byUserCode.get(userCode);
        return id === undefined ? Promise.resolve(undefined) : this.find(id);
      },
      consume(id) {
        const payload = live(keyOf(id));
        if (payload !== undefined) payload.consumed = Math.floor(now() / 1000);
        return Promise.resolve();
      },
      destroy(id) {
        const key = keyOf(id);
        const payload = entries.get(key)?.payload;
        entries.delete(key);
        if (typeof payload?.uid === "string") byUid.delete(payload.uid);
        if (typeof payload?.userCode === "string") byUserCode.delete(payload.userCode);
        return Promise.resolve();
      },
      revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
        byGrant.delete(grantId);
        return Promise.resolve();
      },
    };
  }

  function putClient(metadata: Record<string, unknown>): void {
    entries.set(`Client:${String(metadata.client_id)}`, {
      payload: structuredClone(metadata),
      expiresAt: Infinity,
    });
  }

  return { factory, putClient };
}
