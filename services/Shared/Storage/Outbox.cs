using System.Diagnostics;
using Dcis.Crisis.Shared.Events;
using Google.Protobuf;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Shared.Storage;

/// <summary>
/// The transactional outbox: a state change and the events announcing it are written in the same
/// SQLite transaction, so an event exists if and only if its change was committed. The
/// <see cref="OutboxRelay"/> publishes the rows afterwards, at least once.
/// </summary>
public sealed class Outbox(OutboxSignal signal)
{
    /// <summary>DDL of the outbox table; run by <see cref="OutboxRelay"/> and by services' migrations.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            traceparent TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS ix_outbox_unsent ON outbox(seq) WHERE sent_at IS NULL;
        """;

    /// <summary>The one row shape of an outbox event; writers that format their own JSON (large batches) use it too.</summary>
    public const string InsertSql =
        "INSERT INTO outbox(event_id, topic, type, data, traceparent, created_at) VALUES ($id, $topic, $type, $data, $trace, $at)";

    /// <summary>Adds an event to the outbox inside the caller's transaction.</summary>
    public static Task AddAsync(SqliteTransaction transaction, string topic, string eventId, IMessage message, CancellationToken cancellationToken) =>
        AddRangeAsync(transaction, [(topic, eventId, message)], cancellationToken);

    /// <summary>Adds several events (one prepared statement, same transaction).</summary>
    public static async Task AddRangeAsync(SqliteTransaction transaction, IEnumerable<(string Topic, string EventId, IMessage Message)> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        await using var command = transaction.Connection!.Command(InsertSql, transaction, RowParameters);
        await InsertAsync(command, events, cancellationToken);
    }

    /// <summary>As <see cref="AddRangeAsync(SqliteTransaction, IEnumerable{ValueTuple{string, string, IMessage}}, CancellationToken)"/>,
    /// with the statement kept on the connection (a writer that adds events for every request).</summary>
    public static Task AddRangeAsync(KeptStatements kept, SqliteTransaction transaction, IEnumerable<(string Topic, string EventId, IMessage Message)> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kept);
        return InsertAsync(kept.Command(InsertSql, transaction, RowParameters), events, cancellationToken);
    }

    private static async Task InsertAsync(SqliteCommand command, IEnumerable<(string Topic, string EventId, IMessage Message)> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var traceParent = (object?)Activity.Current?.Id ?? DBNull.Value;
        foreach (var (topic, eventId, message) in events)
        {
            command.Parameters["$id"].Value = eventId;
            command.Parameters["$topic"].Value = topic;
            command.Parameters["$type"].Value = message.Descriptor.FullName;
            command.Parameters["$data"].Value = ProtoJson.Format(message);
            command.Parameters["$trace"].Value = traceParent;
            command.Parameters["$at"].Value = DateTimeOffset.UtcNow.ToString("O");
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    // The statement's parameters with placeholder values; InsertAsync sets them per event.
    private static readonly (string Name, object? Value)[] RowParameters =
        [("$id", ""), ("$topic", ""), ("$type", ""), ("$data", ""), ("$trace", null), ("$at", "")];

    /// <summary>Tells the relay that rows were committed, so it publishes now rather than at its next poll.
    /// Call after the transaction commits.</summary>
    public void NotifyCommitted() => signal.Notify();
}

/// <summary>Wakes the relay when a transaction with outbox rows commits.</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    /// <summary>Wakes the relay (coalesced: many notifications before it runs wake it once).</summary>
    public void Notify()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: the relay will see every committed row on its next pass.
        }
    }

    /// <summary>Waits for a notification or the poll interval, whichever comes first.</summary>
    public Task<bool> WaitAsync(TimeSpan pollInterval, CancellationToken cancellationToken) =>
        _semaphore.WaitAsync(pollInterval, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _semaphore.Dispose();
}
