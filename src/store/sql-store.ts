/**
 * The Store over an open connection: each port built once from the same Kysely handle, the engine's
 * dialect and one Transitions (durable transactions, history and the outbox written with it).
 */
import { operatorActions } from './actions.js';
import type { Connection } from './dialect.js';
import { notificationQueue } from './outbox.js';
import type { HandOffWriter, NotificationQueue, OperatorActions, OperatorReads, Store, StoreHealth, WorkQueue } from './ports.js';
import { operatorReads } from './reads.js';
import { Transitions } from './transitions.js';
import { terminationQueue } from './work-queue.js';

export class SqlStore implements Store {
  readonly handOffs: HandOffWriter;
  readonly work: WorkQueue & { releaseAll(now: number): Promise<number> };
  readonly reads: OperatorReads;
  readonly actions: OperatorActions;
  readonly notifications: NotificationQueue & { releaseAll(now: number): Promise<number> };
  readonly health: StoreHealth;
  readonly description: string;
  /** The durable transactions every port writes through (history and outbox rows with them). */
  private readonly transitions: Transitions;

  constructor(readonly connection: Connection) {
    const { db, dialect } = connection;
    const afterCommit = () => connection.afterCommit();
    this.transitions = new Transitions(db, dialect, afterCommit);
    this.handOffs = connection.handOffs(this.transitions.durably, afterCommit);
    this.work = terminationQueue(db, dialect, this.transitions);
    this.reads = operatorReads(db);
    this.actions = operatorActions(db, dialect, this.transitions);
    this.notifications = notificationQueue(db, dialect);
    this.health = { unavailable: () => connection.unavailable() };
    this.description = connection.description;
  }

  notifyOn(states: ReadonlySet<string>): void {
    this.transitions.notifyOn(states);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
