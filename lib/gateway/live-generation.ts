import type { CachedEntry } from "@/lib/gateway/store";

/**
 * One answer as it is being produced, readable by any number of consumers at
 * once: the request that generates it (streamed to its client as the
 * upstream sends), same-process requests that wait for the same prompt, and
 * whole-answer callers that only want the end. Each reader gets every piece
 * from the start, then the rest as it arrives; nothing is buffered beyond
 * the one answer. A cache hit is a LiveGeneration that is already complete.
 */
export class LiveGeneration {
  private readonly pieces: string[] = [];
  private wake: (() => void)[] = [];
  private ended: { entry: CachedEntry } | { error: unknown } | null = null;
  private settle!: { resolve: (entry: CachedEntry) => void; reject: (error: unknown) => void };
  /** The complete answer (as cached), or the error that ended it. */
  readonly done: Promise<CachedEntry>;

  constructor() {
    this.done = new Promise<CachedEntry>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A generation nobody awaits must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** An answer that is already whole: a cache hit, replayed in word-sized pieces. */
  static completed(entry: CachedEntry): LiveGeneration {
    const live = new LiveGeneration();
    for (const piece of entry.response.match(/\S+\s*|\s+/gu) ?? []) live.push(piece);
    live.finish(entry);
    return live;
  }

  push(text: string): void {
    if (this.ended || text === "") return;
    this.pieces.push(text);
    this.notify();
  }

  finish(entry: CachedEntry): void {
    if (this.ended) return;
    this.ended = { entry };
    this.settle.resolve(entry);
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = { error };
    this.settle.reject(error);
    this.notify();
  }

  /** The error that ended this answer, or null (still running, or complete). */
  failure(): unknown {
    return this.ended && "error" in this.ended ? this.ended.error : null;
  }

  /** Characters produced so far. */
  producedText(): string {
    return this.pieces.join("");
  }

  /** Every piece of the answer from the start; throws the error that ended it, if one did. */
  async *text(): AsyncGenerator<string> {
    let i = 0;
    for (;;) {
      while (i < this.pieces.length) yield this.pieces[i++]!;
      if (this.ended) {
        if ("error" in this.ended) throw this.ended.error;
        return;
      }
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  /** Resolves when the first piece arrives or the answer ends, whichever is first. */
  async started(): Promise<void> {
    if (this.pieces.length > 0 || this.ended) return;
    await new Promise<void>((resolve) => this.wake.push(resolve));
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const resolve of wake) resolve();
  }
}
