/**
 * A bounded pool of open file descriptors, so that 10,000 partitions (each with a .log, .index and
 * .timeindex per segment) do not keep tens of thousands of fds open. Files are opened on demand and the
 * least recently used one is closed when the pool is full.
 *
 * Why synchronous I/O: the log engine runs on the broker's single event loop, and writes land in the
 * page cache in microseconds; fs.writeSync/readSync avoid the libuv thread-pool round trip (tens of µs
 * per call and a Promise each) and keep the on-disk order identical to the call order with no locking.
 * An fd is therefore never held across an `await`, which is what makes closing any idle fd safe.
 */
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';

export class FileHandlePool {
  /** Open files, least recently used first (Map keeps insertion order; a touch re-inserts). */
  readonly #open = new Map<PooledFile, true>();
  #opens = 0;

  constructor(readonly maxOpen = 1024) {
    if (maxOpen < 4) throw new RangeError('FileHandlePool needs at least 4 file descriptors');
  }

  /** How many fds the pool holds right now. */
  get openCount(): number {
    return this.#open.size;
  }
  /** How many open() calls the pool has made (a measure of churn). */
  get totalOpens(): number {
    return this.#opens;
  }

  file(path: string): PooledFile {
    return new PooledFile(this, path);
  }

  /** @internal called by PooledFile */
  touch(f: PooledFile): void {
    this.#open.delete(f);
    this.#open.set(f, true);
  }
  /** @internal */
  opened(f: PooledFile): void {
    this.#opens++;
    while (this.#open.size >= this.maxOpen) {
      const victim = this.#open.keys().next().value as PooledFile;
      victim.close();
    }
    this.#open.set(f, true);
  }
  /** @internal */
  closed(f: PooledFile): void {
    this.#open.delete(f);
  }

  closeAll(): void {
    for (const f of [...this.#open.keys()]) f.close();
  }
}

/** A file whose descriptor comes from the pool: every call may (re)open it. */
export class PooledFile {
  #fd = -1;
  constructor(
    readonly pool: FileHandlePool,
    public path: string,
  ) {}

  get isOpen(): boolean {
    return this.#fd >= 0;
  }

  fd(): number {
    if (this.#fd >= 0) {
      this.pool.touch(this);
      return this.#fd;
    }
    this.pool.opened(this);
    try {
      this.#fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
    } catch (err) {
      this.pool.closed(this);
      throw err;
    }
    return this.#fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.pool.closed(this);
    closeSync(fd);
  }

  size(): number {
    return fstatSync(this.fd()).size;
  }
  mtimeMs(): number {
    return fstatSync(this.fd()).mtimeMs;
  }

  /** Write all of `buf` at `position` (loops on short writes). */
  write(buf: Buffer, position: number): void {
    const fd = this.fd();
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, position + done);
  }

  /** Read up to `length` bytes at `position` into a new Buffer (shorter at end of file). */
  read(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(buf, 0, length, position);
    return n === length ? buf : buf.subarray(0, n);
  }

  readInto(buf: Buffer, offset: number, length: number, position: number): number {
    const fd = this.fd();
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, offset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  truncate(length: number): void {
    ftruncateSync(this.fd(), length);
  }

  /** fdatasync: data plus the size, which is what a log needs. */
  sync(): void {
    fdatasyncSync(this.fd());
  }

  rename(to: string): void {
    this.close();
    renameSync(this.path, to);
    this.path = to;
  }

  unlink(): void {
    this.close();
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
