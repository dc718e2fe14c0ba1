/** A binary min-heap by a number each item carries: what closes or expires next comes out first. */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #at: (item: T) => number;

  constructor(at: (item: T) => number) {
    this.#at = at;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at(items[parent]!) <= this.#at(items[i]!)) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.#at(items[left]!) < this.#at(items[smallest]!)) smallest = left;
        if (right < items.length && this.#at(items[right]!) < this.#at(items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i]!, items[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}
