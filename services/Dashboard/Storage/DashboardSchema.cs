using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Dashboard.Storage;

/// <summary>
/// The dashboard's read models. Counts, levels and references only: no names, phones, e-mails,
/// addresses, recipient or registrant ids (a test reads this schema back and checks it).
/// </summary>
internal static class DashboardSchema
{
    public const string Ddl = Inbox.Schema + """
        CREATE TABLE IF NOT EXISTS country_level (
            country_code TEXT PRIMARY KEY,
            level INTEGER NOT NULL,
            assessment_id TEXT,
            version INTEGER NOT NULL DEFAULT 0,
            sequence INTEGER NOT NULL,
            categories TEXT NOT NULL DEFAULT '[]',
            summary_fr TEXT, summary_en TEXT, advice_fr TEXT, advice_en TEXT,
            review_by TEXT,
            changed_at TEXT
        );
        CREATE TABLE IF NOT EXISTS zone_level (
            assessment_id TEXT PRIMARY KEY,
            country_code TEXT NOT NULL,
            zone_name TEXT,
            subdivisions TEXT NOT NULL DEFAULT '[]',
            polygon TEXT,
            level INTEGER NOT NULL,
            version INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            categories TEXT NOT NULL DEFAULT '[]',
            review_by TEXT,
            changed_at TEXT
        );
        CREATE INDEX IF NOT EXISTS zone_level_country ON zone_level(country_code);
        CREATE TABLE IF NOT EXISTS level_history (
            change_id TEXT PRIMARY KEY,
            sequence INTEGER NOT NULL,
            assessment_id TEXT NOT NULL,
            country_code TEXT NOT NULL,
            zone_name TEXT,
            previous_level INTEGER NOT NULL,
            new_level INTEGER NOT NULL,
            reason TEXT,
            approval_mode INTEGER NOT NULL,
            changed_at TEXT
        );
        CREATE INDEX IF NOT EXISTS level_history_country ON level_history(country_code, sequence);
        CREATE TABLE IF NOT EXISTS crisis (
            crisis_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            kind INTEGER NOT NULL,
            country_code TEXT NOT NULL,
            zone_name TEXT,
            marker_lat REAL, marker_lng REAL,
            title_fr TEXT, title_en TEXT,
            approval_mode INTEGER NOT NULL DEFAULT 0,
            declared_at TEXT,
            closed_at TEXT
        );
        CREATE TABLE IF NOT EXISTS alert (
            alert_key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            source_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            message_type INTEGER NOT NULL DEFAULT 0,
            post_id TEXT,
            crisis_id TEXT,
            country_code TEXT NOT NULL,
            level INTEGER NOT NULL DEFAULT 0,
            headline_fr TEXT, headline_en TEXT,
            issued_at TEXT NOT NULL,
            targeted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS alert_country ON alert(country_code);
        CREATE TABLE IF NOT EXISTS advisory (
            advisory_id TEXT PRIMARY KEY,
            wave_id TEXT NOT NULL,
            country_code TEXT NOT NULL,
            affected_sites INTEGER NOT NULL,
            affected_travellers INTEGER NOT NULL,
            acknowledgement_required INTEGER NOT NULL,
            acknowledged_at TEXT
        );
        CREATE INDEX IF NOT EXISTS advisory_wave ON advisory(wave_id);
        CREATE TABLE IF NOT EXISTS delivery (
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            alert_version INTEGER NOT NULL,
            recipient_ref TEXT NOT NULL,
            status_rank INTEGER NOT NULL,
            delivered_at TEXT,
            PRIMARY KEY (source, source_alert_id, alert_version, recipient_ref)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS notification_batch (
            event_id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            source_alert_id TEXT NOT NULL,
            alert_version INTEGER NOT NULL,
            recipient_count INTEGER NOT NULL,
            action INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS notification_batch_alert ON notification_batch(source, source_alert_id);
        CREATE TABLE IF NOT EXISTS wellbeing (
            check_id TEXT NOT NULL,
            post_id TEXT NOT NULL,
            crisis_id TEXT,
            country_code TEXT,
            version INTEGER NOT NULL,
            targeted INTEGER NOT NULL, safe INTEGER NOT NULL, need_help INTEGER NOT NULL,
            no_answer INTEGER NOT NULL, follow_up INTEGER NOT NULL,
            updated_at TEXT,
            PRIMARY KEY (check_id, post_id)
        );
        CREATE TABLE IF NOT EXISTS escalation (
            case_reference TEXT PRIMARY KEY,
            check_id TEXT NOT NULL,
            post_id TEXT NOT NULL,
            at TEXT
        );
        CREATE TABLE IF NOT EXISTS dead_letter (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            event_type TEXT,
            received_at TEXT NOT NULL,
            payload TEXT,
            replayed_at TEXT,
            UNIQUE (topic, event_id)
        );
        """;
}
