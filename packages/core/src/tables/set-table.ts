import { Table, type TableOptions, type TableOwner } from './table.js';

/** A table of sets, like Faust's `app.SetTable`: each key holds members, stored as an array. */
export class SetTable<M = unknown, K = string> extends Table<M[], K> {
  constructor(owner: TableOwner, name: string, options: Omit<TableOptions<M[], K>, 'default'> = {}) {
    super(owner, name, { ...options, default: () => [] });
  }

  /** The members of `key` (empty when missing). */
  members(key: K): Set<M> {
    return new Set(this.get(key) ?? []);
  }

  contains(key: K, member: M): boolean {
    return this.#indexOf(key, member) >= 0;
  }

  add(key: K, member: M): void {
    if (this.#indexOf(key, member) >= 0) return;
    this.set(key, [...(this.get(key) ?? []), member]);
  }

  /** Removes a member; a key left with none is deleted. */
  discard(key: K, member: M): void {
    const members = this.get(key) ?? [];
    const index = this.#indexOf(key, member);
    if (index < 0) return;
    const rest = members.filter((_, i) => i !== index);
    if (rest.length === 0) this.delete(key);
    else this.set(key, rest);
  }

  // Members compare by their JSON form, so that records and plain objects read back from the changelog match.
  #indexOf(key: K, member: M): number {
    const wanted = JSON.stringify(member);
    return (this.get(key) ?? []).findIndex((one) => one === member || JSON.stringify(one) === wanted);
  }
}
