// When each key was first seen, for Meta's dedup windows (spec §8). A Map would do, but its million
// keys are a million heap strings the garbage collector must promote and trace, and its chained
// buckets cost several cache misses per insert: together as much as parsing the events. Here keys
// live as UTF-16 code units in one growing typed array, found by an FNV-1a hash with linear probing.

const EMPTY = 0;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const INITIAL_SLOTS = 16;

export class FirstSeenIndex {
  /** Per slot: the key's hash (never EMPTY), its first-seen Unix ms, and where its code units are. */
  #hashes = new Int32Array(INITIAL_SLOTS);
  #firstSeen = new Float64Array(INITIAL_SLOTS);
  #starts = new Uint32Array(INITIAL_SLOTS);
  #lengths = new Uint32Array(INITIAL_SLOTS);
  #chars = new Uint16Array(INITIAL_SLOTS * 16);
  #used = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * True when `key` was first seen at most `windowMs` before `nowMs`. Otherwise it is (again) first
   * seen now: a key whose window ran out starts a new one, as Meta's dedup forgets it.
   */
  seenWithin(key: string, nowMs: number, windowMs: number): boolean {
    const hash = hashOf(key);
    const hashes = this.#hashes;
    const mask = hashes.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const found = hashes[slot];
      if (found === EMPTY) {
        this.#insert(slot, hash, key, nowMs);
        return false;
      }
      if (found === hash && this.#holds(slot, key)) {
        if (nowMs - (this.#firstSeen[slot] as number) <= windowMs) return true;
        this.#firstSeen[slot] = nowMs;
        return false;
      }
    }
  }

  #holds(slot: number, key: string): boolean {
    if (this.#lengths[slot] !== key.length) return false;
    const chars = this.#chars;
    const start = this.#starts[slot] as number;
    for (let i = 0; i < key.length; i++) if (chars[start + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  #insert(slot: number, hash: number, key: string, nowMs: number): void {
    const start = this.#used;
    if (start + key.length > this.#chars.length) {
      const chars = new Uint16Array(Math.max(this.#chars.length * 2, start + key.length));
      chars.set(this.#chars.subarray(0, start));
      this.#chars = chars;
    }
    const chars = this.#chars;
    for (let i = 0; i < key.length; i++) chars[start + i] = key.charCodeAt(i);
    this.#used = start + key.length;
    this.#hashes[slot] = hash;
    this.#firstSeen[slot] = nowMs;
    this.#starts[slot] = start;
    this.#lengths[slot] = key.length;
    // At most half full, so probes stay short.
    if (++this.#size * 2 > this.#hashes.length) this.#grow();
  }

  #grow(): void {
    const hashes = this.#hashes;
    const firstSeen = this.#firstSeen;
    const starts = this.#starts;
    const lengths = this.#lengths;
    const slots = hashes.length * 2;
    this.#hashes = new Int32Array(slots);
    this.#firstSeen = new Float64Array(slots);
    this.#starts = new Uint32Array(slots);
    this.#lengths = new Uint32Array(slots);
    const mask = slots - 1;
    for (let from = 0; from < hashes.length; from++) {
      const hash = hashes[from] as number;
      if (hash === EMPTY) continue;
      let to = hash & mask;
      while (this.#hashes[to] !== EMPTY) to = (to + 1) & mask;
      this.#hashes[to] = hash;
      this.#firstSeen[to] = firstSeen[from] as number;
      this.#starts[to] = starts[from] as number;
      this.#lengths[to] = lengths[from] as number;
    }
  }
}

/** FNV-1a over UTF-16 code units, folded so the low bits (the slot) depend on every unit; never EMPTY. */
function hashOf(key: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), FNV_PRIME);
  hash ^= hash >>> 15;
  return hash === EMPTY ? 1 : hash;
}
