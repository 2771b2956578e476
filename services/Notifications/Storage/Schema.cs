using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Notifications.Storage;

/// <summary>DDL of notifications.db. Times are Unix milliseconds (UTC); statuses are DeliveryStatus
/// numbers, plus 100 for "sending" (a provider call in flight).</summary>
internal static class Schema
{
    public const string Ddl = Outbox.Schema + Inbox.Schema + """
        CREATE TABLE IF NOT EXISTS alerts (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            alert_version INTEGER NOT NULL,
            messages BLOB NOT NULL,
            UNIQUE (source, source_alert_id, alert_version)
        );
        CREATE TABLE IF NOT EXISTS cancellations (
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            up_to_version INTEGER NOT NULL,
            PRIMARY KEY (source, source_alert_id)
        );
        CREATE TABLE IF NOT EXISTS deliveries (
            id INTEGER PRIMARY KEY,
            alert_row INTEGER NOT NULL REFERENCES alerts(id),
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            alert_version INTEGER NOT NULL,
            recipient_id TEXT NOT NULL,
            idem_key TEXT NOT NULL,
            priority INTEGER NOT NULL,
            language INTEGER NOT NULL,
            addresses TEXT,
            reply_code TEXT,
            address_index INTEGER NOT NULL DEFAULT 0,
            channel INTEGER NOT NULL,
            status INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            address_attempts INTEGER NOT NULL DEFAULT 0,
            attempt_id TEXT,
            next_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            requested_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            final_at INTEGER,
            reason TEXT,
            wiped INTEGER NOT NULL DEFAULT 0,
            UNIQUE (source, source_alert_id, alert_version, recipient_id)
        );
        CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries(channel, priority DESC, id) WHERE status = 1;
        CREATE INDEX IF NOT EXISTS ix_deliveries_expiry ON deliveries(expires_at) WHERE status = 1;
        CREATE INDEX IF NOT EXISTS ix_deliveries_sending ON deliveries(id) WHERE status = 100;
        CREATE INDEX IF NOT EXISTS ix_deliveries_wipe ON deliveries(final_at) WHERE wiped = 0 AND final_at IS NOT NULL;
        CREATE TABLE IF NOT EXISTS status_trail (
            id INTEGER PRIMARY KEY,
            delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
            status INTEGER NOT NULL,
            channel INTEGER NOT NULL,
            reason TEXT,
            at INTEGER NOT NULL,
            published INTEGER NOT NULL DEFAULT 0
        );
        -- No index on status_trail(delivery_id): nothing reads the trail by delivery (it is read in id order from the
        -- publish cursor) and deliveries are never deleted, so the foreign key never looks children up. The index cost
        -- a b-tree insert per trail row (two per recipient); a database made with it loses it here.
        DROP INDEX IF EXISTS ix_trail_delivery;
        -- What is published is every trail row up to a cursor (ids grow with each commit: SQLite has one writer),
        -- not a flag written back on each row. The 'published' column above is no longer written; a database made
        -- before the cursor starts it below its first unpublished row.
        DROP INDEX IF EXISTS ix_trail_unpublished;
        CREATE TABLE IF NOT EXISTS trail_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            published_up_to INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO trail_cursor(id, published_up_to)
            SELECT 1, COALESCE((SELECT MIN(id) - 1 FROM status_trail WHERE published = 0), (SELECT MAX(id) FROM status_trail), 0);
        CREATE TABLE IF NOT EXISTS app_inbox (
            cursor INTEGER PRIMARY KEY AUTOINCREMENT,
            delivery_id INTEGER NOT NULL UNIQUE REFERENCES deliveries(id),
            registrant_id TEXT NOT NULL,
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            alert_version INTEGER NOT NULL,
            priority INTEGER NOT NULL,
            language INTEGER NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            reply_code TEXT,
            created_at INTEGER NOT NULL,
            read_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS ix_app_inbox_registrant ON app_inbox(registrant_id, cursor);
        """;
}
