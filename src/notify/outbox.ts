// TEMPORARY re-export for src/notify/deliver.ts until it takes the NotificationQueue (see store/legacy.ts).
export { Outbox, outboxWriter, type ClaimedNotification } from '../store/legacy.js';
