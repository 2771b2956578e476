using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Advisories.Storage;

/// <summary>DDL of advisories.db. Times are Unix milliseconds (UTC) so that SQL can compare them.</summary>
internal static class AdvisoriesSchema
{
    /// <summary>Creates what is missing, including columns added since a database file was made.</summary>
    public static async Task MigrateAsync(SqliteDatabase database, CancellationToken cancellationToken)
    {
        await database.MigrateAsync(Ddl, cancellationToken);
        // Secret rotation (RotateWebhookSecret): the previous secret signs beside the new one until it expires.
        await database.AddColumnIfMissingAsync("webhook_endpoints", "previous_secret", "TEXT", cancellationToken);
        await database.AddColumnIfMissingAsync("webhook_endpoints", "previous_secret_expires_at", "INTEGER", cancellationToken);
    }

    public const string Ddl = Outbox.Schema + Inbox.Schema + """
        CREATE TABLE IF NOT EXISTS companies (
            company_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            contacts BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS sites (
            site_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL REFERENCES companies(company_id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            reference TEXT NOT NULL,
            country_code TEXT NOT NULL,
            subdivision_code TEXT NOT NULL,
            city TEXT NOT NULL,
            latitude REAL,
            longitude REAL,
            expatriates INTEGER NOT NULL,
            locals INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_sites_country ON sites(country_code);
        CREATE INDEX IF NOT EXISTS ix_sites_company ON sites(company_id, site_id);
        CREATE TABLE IF NOT EXISTS trips (
            trip_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL REFERENCES companies(company_id) ON DELETE CASCADE,
            traveller_reference TEXT NOT NULL,
            traveller_name TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_trips_company ON trips(company_id, trip_id);
        CREATE TABLE IF NOT EXISTS trip_legs (
            trip_id TEXT NOT NULL REFERENCES trips(trip_id) ON DELETE CASCADE,
            leg_index INTEGER NOT NULL,
            company_id TEXT NOT NULL,
            country_code TEXT NOT NULL,
            subdivision_code TEXT NOT NULL,
            latitude REAL,
            longitude REAL,
            from_time INTEGER NOT NULL,
            to_time INTEGER NOT NULL,
            PRIMARY KEY (trip_id, leg_index)
        );
        CREATE INDEX IF NOT EXISTS ix_trip_legs_country ON trip_legs(country_code, to_time);
        CREATE TABLE IF NOT EXISTS subscriptions (
            subscription_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL REFERENCES companies(company_id) ON DELETE CASCADE,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_subscriptions_company ON subscriptions(company_id, subscription_id);
        CREATE TABLE IF NOT EXISTS subscription_targets (
            subscription_id TEXT NOT NULL REFERENCES subscriptions(subscription_id) ON DELETE CASCADE,
            country_code TEXT NOT NULL,
            subdivision_code TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_subscription_targets_country ON subscription_targets(country_code);
        CREATE TABLE IF NOT EXISTS webhook_endpoints (
            endpoint_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL REFERENCES companies(company_id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            active INTEGER NOT NULL,
            disabled_reason TEXT NOT NULL DEFAULT '',
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            previous_secret TEXT,
            previous_secret_expires_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS ix_webhook_endpoints_company ON webhook_endpoints(company_id, endpoint_id);
        CREATE TABLE IF NOT EXISTS subject_versions (
            subject_key TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS issue_progress (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            subject_key TEXT NOT NULL,
            subject_version INTEGER NOT NULL,
            last_company_id TEXT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        );
        CREATE TABLE IF NOT EXISTS advisories (
            advisory_id TEXT PRIMARY KEY,
            company_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            cause_event_id TEXT NOT NULL,
            level INTEGER NOT NULL,
            requires_ack INTEGER NOT NULL,
            issued_at INTEGER NOT NULL,
            acknowledged_at INTEGER,
            acknowledged_by TEXT,
            chase_count INTEGER NOT NULL DEFAULT 0,
            last_chased_at INTEGER,
            data BLOB NOT NULL,
            UNIQUE (company_id, cause_event_id),
            UNIQUE (company_id, sequence)
        );
        CREATE INDEX IF NOT EXISTS ix_advisories_cause ON advisories(cause_event_id);
        CREATE INDEX IF NOT EXISTS ix_advisories_awaiting ON advisories(issued_at) WHERE requires_ack = 1 AND acknowledged_at IS NULL;
        CREATE TABLE IF NOT EXISTS related_alerts (
            wave_id TEXT NOT NULL,
            alert_id TEXT NOT NULL,
            PRIMARY KEY (wave_id, alert_id)
        );
        CREATE TABLE IF NOT EXISTS contact_deliveries (
            advisory_id TEXT NOT NULL,
            contact_id TEXT NOT NULL,
            message_version INTEGER NOT NULL,
            channel INTEGER NOT NULL,
            status INTEGER NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (advisory_id, contact_id, message_version)
        );
        CREATE TABLE IF NOT EXISTS webhook_deliveries (
            n INTEGER PRIMARY KEY AUTOINCREMENT,
            delivery_id TEXT NOT NULL UNIQUE,
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(endpoint_id) ON DELETE CASCADE,
            company_id TEXT NOT NULL,
            advisory_id TEXT NOT NULL,
            replay INTEGER NOT NULL,
            body TEXT NOT NULL,
            state INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_status_code INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            next_attempt_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            delivered_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS ix_webhook_deliveries_pending ON webhook_deliveries(endpoint_id, n) WHERE state = 1;
        CREATE INDEX IF NOT EXISTS ix_webhook_deliveries_company ON webhook_deliveries(company_id, n);
        """;
}
