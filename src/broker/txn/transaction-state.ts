/**
 * The states of a transactional id in the transaction coordinator (Kafka's TransactionState), with
 * the byte each is stored as in `__transaction_state` (TransactionLogValue.TransactionStatus) and the
 * name DescribeTransactions / ListTransactions report.
 *
 *   Empty ──AddPartitions/AddOffsets──► Ongoing ──EndTxn(commit)──► PrepareCommit ──markers──► CompleteCommit
 *     ▲                                   │    └──EndTxn(abort)───► PrepareAbort  ──markers──► CompleteAbort
 *     └──InitProducerId (epoch bump)──────┘  (Ongoing → PrepareEpochFence → PrepareAbort when a new
 *                                             producer or a timeout fences the old one)
 *   Empty / Complete* ──expiration──► Dead (tombstone written, id forgotten)
 *   TV2 (KIP-890): Empty / Complete* may go to PrepareAbort (an abort the client was unsure about).
 */

export const TransactionState = {
  Empty: 'Empty',
  Ongoing: 'Ongoing',
  PrepareCommit: 'PrepareCommit',
  PrepareAbort: 'PrepareAbort',
  CompleteCommit: 'CompleteCommit',
  CompleteAbort: 'CompleteAbort',
  Dead: 'Dead',
  PrepareEpochFence: 'PrepareEpochFence',
} as const;

export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];

const S = TransactionState;

/** The byte stored for each state (Kafka's TransactionState.id). */
export const STATE_ID: Readonly<Record<TransactionState, number>> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};

const BY_ID = new Map<number, TransactionState>(
  Object.entries(STATE_ID).map(([name, id]) => [id, name as TransactionState]),
);

export const ALL_STATES: readonly TransactionState[] = Object.values(S);

/** The state stored as `id`; throws on a byte Kafka does not define. */
export function stateFromId(id: number): TransactionState {
  const s = BY_ID.get(id);
  if (s === undefined) throw new RangeError(`unknown transaction state id ${id}`);
  return s;
}

/** The state named `name` (ListTransactions state filters), or undefined. */
export function stateFromName(name: string): TransactionState | undefined {
  return (ALL_STATES as readonly string[]).includes(name) ? (name as TransactionState) : undefined;
}

/** From which states a transition into each state is legal. */
export const VALID_PREVIOUS_STATES: Readonly<Record<TransactionState, ReadonlySet<TransactionState>>> = {
  Empty: new Set([S.Empty, S.CompleteCommit, S.CompleteAbort]),
  Ongoing: new Set([S.Ongoing, S.Empty, S.CompleteCommit, S.CompleteAbort]),
  PrepareCommit: new Set([S.Ongoing]),
  PrepareAbort: new Set([S.Ongoing, S.PrepareEpochFence, S.Empty, S.CompleteCommit, S.CompleteAbort]),
  CompleteCommit: new Set([S.PrepareCommit]),
  CompleteAbort: new Set([S.PrepareAbort]),
  Dead: new Set([S.Empty, S.CompleteAbort, S.CompleteCommit]),
  PrepareEpochFence: new Set([S.Ongoing]),
};

/** States in which a transactional id may expire (transactional.id.expiration.ms): no transaction open. */
export function isExpirationAllowed(s: TransactionState): boolean {
  return s === S.Empty || s === S.CompleteCommit || s === S.CompleteAbort;
}
