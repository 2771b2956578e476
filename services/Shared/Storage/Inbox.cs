using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Shared.Storage;

/// <summary>
/// The inbox: each processed event id is recorded in the same transaction as the effect of
/// processing it. A redelivered event finds its id and is skipped, so the effect happens once.
/// </summary>
public static class Inbox
{
    /// <summary>DDL of the inbox table.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS inbox (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            processed_at TEXT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        );
        """;

    /// <summary>
    /// Records the event as processed by the consumer inside the transaction. Returns false when it
    /// was processed before: the caller then skips its effect (and commits nothing new).
    /// </summary>
    public static async Task<bool> TryRecordAsync(SqliteTransaction transaction, string consumer, string eventId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        await using var command = transaction.Connection!.Command(RecordSql, transaction, Values(consumer, eventId));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>As <see cref="TryRecordAsync(SqliteTransaction, string, string, CancellationToken)"/>, with the statement kept on the connection.</summary>
    public static async Task<bool> TryRecordAsync(KeptStatements kept, SqliteTransaction transaction, string consumer, string eventId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kept);
        return await kept.Command(RecordSql, transaction, Values(consumer, eventId)).ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private const string RecordSql = "INSERT OR IGNORE INTO inbox(consumer, event_id, processed_at) VALUES ($c, $id, $at)";

    private static (string, object?)[] Values(string consumer, string eventId) =>
        [("$c", consumer), ("$id", eventId), ("$at", DateTimeOffset.UtcNow.ToString("O"))];
}
