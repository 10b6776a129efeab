/** A binary min-heap under `before` (true when a goes first): push and pop in O(log n). */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftUp(at: number): void {
    let i = at;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.items[i]!, this.items[parent]!)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(at: number): void {
    let i = at;
    for (;;) {
      const first = this.firstOf(i, 2 * i + 1, 2 * i + 2);
      if (first === i) return;
      this.swap(i, first);
      i = first;
    }
  }

  /** Which of a node and its children goes first. */
  private firstOf(i: number, left: number, right: number): number {
    let first = i;
    if (left < this.items.length && this.before(this.items[left]!, this.items[first]!)) first = left;
    if (right < this.items.length && this.before(this.items[right]!, this.items[first]!)) first = right;
    return first;
  }

  private swap(a: number, b: number): void {
    const t = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = t;
  }
}
