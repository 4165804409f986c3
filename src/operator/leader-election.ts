/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection package
 * does it:
 *  - a candidate tries every retryPeriod (jittered) to create the Lease, or to take it over when
 *    its holder is empty (released) or has not renewed for leaseDuration. "Not renewed" is judged
 *    by the local time at which this candidate last saw the record change, never by comparing
 *    clocks with the holder.
 *  - the leader renews every retryPeriod; when it cannot renew for renewDeadline
 *    (< leaseDuration) it stops leading, before anyone else may take the Lease over.
 *  - on a clean stop the leader releases the Lease (empty holder, leaseDurationSeconds 1), so a
 *    standby takes over at its next retry instead of waiting out the lease.
 * Every write is an update with the observed resourceVersion, so two candidates never both win.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { V1Lease, V1LeaseSpec } from '@kubernetes/client-node';
import { KubeApiError, objectPath, collectionPath, resourceFor, type KubeClient } from './kube/client.js';
import type { Desired, Wire } from './kube/objects.js';

const LEASE = resourceFor('coordination.k8s.io/v1', 'Lease');

export interface LeaderElectionConfig {
  namespace: string;
  /** The Lease's name (the chart's operator.leaderElection.leaseName). */
  name: string;
  /** This candidate's identity (default: hostname_uuid, as client-go). */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void;
  /** Leadership lost (could not renew) — not called on stop(). */
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
}

/** The Lease as the API's JSON gives it (MicroTime fields are strings, see microTime()). */
type Lease = Wire<Desired<V1Lease, 'Lease'>>;
type LeaseSpec = Wire<V1LeaseSpec>;

export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #client: KubeClient;
  readonly #cfg: LeaderElectionConfig;
  readonly #log: Logger;
  readonly #cb: LeaderCallbacks;
  #leader = false;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #observed: { spec: LeaseSpec; resourceVersion?: string } | null = null;
  #observedAt = 0;
  #reportedLeader: string | null = null;

  constructor(client: KubeClient, cfg: LeaderElectionConfig, log: Logger, cb: LeaderCallbacks) {
    this.#client = client;
    this.#cfg = cfg;
    this.identity = cfg.identity ?? defaultIdentity();
    this.leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs))
      throw new Error('leader election: lease duration must be greater than the renew deadline');
    if (!(this.renewDeadlineMs > this.retryPeriodMs * 1.2))
      throw new Error('leader election: renew deadline must be greater than 1.2 × the retry period');
    this.#log = log.child({ lease: `${cfg.namespace}/${cfg.name}`, identity: this.identity });
    this.#cb = cb;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Starts campaigning in the background. */
  run(): void {
    if (this.#loop) return;
    this.#loop = this.#campaign().catch((err: unknown) =>
      this.#log.error({ err }, 'leader election loop failed'),
    );
  }

  /**
   * Whether stop() was called. Read through a method: the campaign checks it again after every
   * await, where a narrowed `this.#stopped` would look constant to the type checker but is not.
   */
  #isStopped(): boolean {
    return this.#stopped;
  }

  async #campaign(): Promise<void> {
    while (!this.#isStopped()) {
      // Acquire.
      while (!this.#isStopped() && !(await this.#tryAcquireOrRenew())) await this.#sleep(this.#jittered());
      if (this.#isStopped()) return;
      this.#leader = true;
      this.#log.info('became the leader');
      this.#cb.onStartedLeading();
      // Renew until a renewal fails for longer than renewDeadline.
      let lastRenew = Date.now();
      while (!this.#isStopped()) {
        await this.#sleep(this.retryPeriodMs);
        if (this.#isStopped()) return;
        let renewed = false;
        while (!this.#isStopped() && !renewed && Date.now() - lastRenew < this.renewDeadlineMs) {
          renewed = await this.#tryAcquireOrRenew(this.renewDeadlineMs - (Date.now() - lastRenew));
          if (!renewed) await this.#sleep(Math.min(this.retryPeriodMs, 500));
        }
        if (this.#isStopped()) return;
        if (!renewed) break;
        lastRenew = Date.now();
      }
      this.#leader = false;
      this.#log.error({ renewDeadlineMs: this.renewDeadlineMs }, 'leader election lost');
      this.#cb.onStoppedLeading();
      return;
    }
  }

  #jittered(): number {
    // client-go: wait.JitterUntil(retryPeriod, JitterFactor 1.2)
    return this.retryPeriodMs * (1 + Math.random() * 1.2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  #observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    const prev = this.#observed?.spec;
    if (!prev || prev.holderIdentity !== spec.holderIdentity || prev.renewTime !== spec.renewTime)
      this.#observedAt = Date.now();
    this.#observed = { spec, resourceVersion: lease.metadata.resourceVersion };
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      if (holder !== this.identity) this.#log.info({ leader: holder }, 'new leader observed');
      this.#cb.onNewLeader?.(holder);
    }
  }

  async #tryAcquireOrRenew(timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    const { namespace, name } = this.#cfg;
    const now = Date.now();
    const durationS = Math.ceil(this.leaseDurationMs / 1000);
    try {
      let lease: Lease | null = null;
      try {
        lease = await this.#client.request<Lease>('GET', objectPath(LEASE, namespace, name), { timeoutMs });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.notFound)) throw err;
      }
      if (!lease) {
        const body: Lease = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationS,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        };
        const created = await this.#client.request<Lease>('POST', collectionPath(LEASE, namespace), {
          timeoutMs,
          body,
        });
        this.#observe(created);
        return true;
      }
      this.#observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const mine = holder === this.identity;
      const validMs = (spec.leaseDurationSeconds ?? durationS) * 1000;
      if (holder && !mine && this.#observedAt + validMs > now) return false;
      const next: LeaseSpec = mine
        ? { ...spec, renewTime: microTime(now), leaseDurationSeconds: durationS }
        : {
            holderIdentity: this.identity,
            leaseDurationSeconds: durationS,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0),
          };
      const updated = await this.#client.request<Lease>('PUT', objectPath(LEASE, namespace, name), {
        timeoutMs,
        body: { ...lease, spec: next } satisfies Lease,
      });
      this.#observe(updated);
      return true;
    } catch (err) {
      const conflict = err instanceof KubeApiError && err.conflict;
      this.#log[conflict ? 'debug' : 'warn'](
        { err: err instanceof Error ? err.message : String(err) },
        'cannot acquire or renew the lease',
      );
      return false;
    }
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    this.#leader = false;
    // Also when stopped right after winning, before the loop took the lead: the Lease is ours.
    if (this.#observed?.spec.holderIdentity !== this.identity) return;
    const { namespace, name } = this.#cfg;
    try {
      const lease = await this.#client.request<Lease>('GET', objectPath(LEASE, namespace, name), {
        timeoutMs: 5000,
      });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(Date.now());
      const released: Lease = {
        ...lease,
        spec: {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: lease.spec.leaseTransitions ?? 0,
        },
      };
      await this.#client.request('PUT', objectPath(LEASE, namespace, name), {
        timeoutMs: 5000,
        body: released,
      });
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot release the lease');
    }
  }
}
