// oidc-provider's storage, in memory and shared by every provider instance of
// one identity provider, so rotateKeys() (a new instance) keeps grants and tokens.
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

export function memoryAdapterFactory() {
  const store = new Map<string, { payload: Payload; expiresAt?: number }>();
  const live = (key: string) => {
    const entry = store.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt < Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry?.payload;
  };
  return class MemoryAdapter {
    readonly #name: string;
    constructor(name: string) {
      this.#name = name;
    }
    #key(id: string) {
      return `${this.#name}:${id}`;
    }
    async upsert(id: string, payload: Payload, expiresIn?: number) {
      store.set(this.#key(id), { payload, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) });
    }
    async find(id: string) {
      return live(this.#key(id));
    }
    async findByUserCode(userCode: string) {
      return this.#findBy((payload) => payload.userCode === userCode);
    }
    async findByUid(uid: string) {
      return this.#findBy((payload) => payload.uid === uid);
    }
    async consume(id: string) {
      const payload = live(this.#key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [key, entry] of store) if (entry.payload.grantId === grantId) store.delete(key);
    }
    #findBy(match: (payload: Payload) => boolean) {
      for (const key of store.keys()) {
        if (!key.startsWith(`${this.#name}:`)) continue;
        const payload = live(key);
        if (payload && match(payload)) return payload;
      }
      return undefined;
    }
  };
}
