using Dcis.Crisis.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Advisories.Storage;

/// <summary>
/// The issuer's own SQLite connection, behind an in-process gate. Advisory transactions queue on
/// the gate (in arrival order, woken at once) rather than in SQLite's busy handler, which sleeps
/// 1-100 ms between retries; the connection stays open (no pool round trip and pragmas per
/// event); and it never runs the WAL checkpoint inside a commit (<c>wal_autocheckpoint=0</c>):
/// <see cref="WalCheckpointer"/> does that in the background, off the path to the streams.
/// </summary>
internal sealed class IssuerConnection(SqliteDatabase database, WalCheckpointer checkpointer) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;

    /// <summary>Waits for the gate and returns the open connection; dispose the lease to release it.</summary>
    public async Task<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            _connection ??= await OpenAsync(cancellationToken);
            return new Lease(this, _connection);
        }
        catch
        {
            _gate.Release();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }

        _gate.Release();
        _gate.Dispose();
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // Not pooled: the pragma below must not leak to connections other components take from the pool.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = database.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.Command(
            "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;");
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private void Release()
    {
        // A rolled-back transaction leaves the connection usable; a closed one is reopened next time.
        if (_connection is { State: not System.Data.ConnectionState.Open })
        {
            _connection.Dispose();
            _connection = null;
        }

        checkpointer.Request();
        _gate.Release();
    }

    /// <summary>The connection while the gate is held.</summary>
    internal sealed class Lease(IssuerConnection owner, SqliteConnection connection) : IDisposable
    {
        public SqliteConnection Connection { get; } = connection;

        public void Dispose() => owner.Release();
    }
}

/// <summary>Checkpoints the WAL in the background when the issuer asks (coalesced, at most every 200 ms).</summary>
internal sealed class WalCheckpointer(SqliteDatabase database, ILogger<WalCheckpointer> logger) : BackgroundService
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Request()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already requested.
            }
        }
    }

    public override void Dispose()
    {
        _signal.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _signal.WaitAsync(stoppingToken);
                await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken);
                await using var connection = await database.OpenAsync(stoppingToken);
                await using var checkpoint = connection.Command("PRAGMA wal_checkpoint(PASSIVE)");
                await checkpoint.ExecuteNonQueryAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SqliteException ex)
            {
                logger.LogWarning(ex, "WAL checkpoint failed; retried at the next request");
            }
        }
    }
}
