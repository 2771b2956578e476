using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.ThreatLevels.Storage;

/// <summary>
/// Tables of threat-levels. Rows keep the proto message (binary) as the record, plus the columns
/// queries filter and order on. <c>changes</c> is append-only: its primary key is the global sequence.
/// </summary>
internal static class ThreatLevelsSchema
{
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS assessments (
            assessment_id TEXT PRIMARY KEY,
            country_code TEXT NOT NULL,
            version INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS changes (
            sequence INTEGER PRIMARY KEY,
            change_id TEXT NOT NULL UNIQUE,
            assessment_id TEXT NOT NULL,
            country_code TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_changes_assessment ON changes(assessment_id, sequence);
        CREATE INDEX IF NOT EXISTS ix_changes_country ON changes(country_code, sequence);
        CREATE TABLE IF NOT EXISTS proposals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            proposal_id TEXT NOT NULL UNIQUE,
            status INTEGER NOT NULL,
            country_code TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_proposals_status ON proposals(status, id);
        CREATE TABLE IF NOT EXISTS crises (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            crisis_id TEXT NOT NULL UNIQUE,
            status INTEGER NOT NULL,
            country_code TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_crises_status ON crises(status, id);
        """ + Outbox.Schema;
}
