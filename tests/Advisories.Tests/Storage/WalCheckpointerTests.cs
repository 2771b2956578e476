using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dcis.Crisis.Advisories.Tests.Storage;

/// <summary>The advisories WAL on a real SQLite file, checkpointed while the issuer commits without a pause.</summary>
public sealed class WalCheckpointerTests : IDisposable
{
    private readonly TempDirectory _dir = new("wal-checkpointer");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_checkpoint_under_continuous_commits_makes_the_wal_start_over()
    {
        var (database, issuer, checkpointer) = await StartAsync();
        await using var _ = issuer;

        // More than RestartFrames frames in the WAL: rows of two pages each, never checkpointed
        // by the issuer's own connection (its file size tells, without a checkpoint's copying).
        await CommitAsync(issuer, rows: (int)WalCheckpointer.RestartFrames, bytes: 6000);
        Assert.True(new FileInfo(database.Path + "-wal").Length >= WalCheckpointer.RestartFrames * 4096);

        // The issuer keeps committing small rows while the checkpoint runs, as under back-to-back
        // changes: the passive passes can never find every frame copied back.
        var commitsAfterCheckpoint = 0;
        var checkpointDone = false;
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Task.Run(async () =>
        {
            for (var n = 0; ; n++)
            {
                await CommitAsync(issuer, rows: 1, bytes: 100);
                if (n == 20)
                {
                    writing.SetResult();
                }

                if (Volatile.Read(ref checkpointDone) && ++commitsAfterCheckpoint == 3)
                {
                    return;
                }
            }
        });

        await writing.Task.WaitAsync(TimeSpan.FromMinutes(1));
        try
        {
            await checkpointer.CheckpointAsync(CancellationToken.None);
        }
        finally
        {
            Volatile.Write(ref checkpointDone, true);
        }

        await writer.WaitAsync(TimeSpan.FromMinutes(1));

        // Started over: the WAL holds the few commits made since, not the thousands before.
        var frames = await WalFramesAsync(database);
        Assert.True(frames < 100, $"WAL holds {frames} frames after the checkpoint (it did not start over)");
    }

    [Fact]
    public async Task A_small_wal_is_checkpointed_without_taking_the_issuers_gate()
    {
        var (database, issuer, checkpointer) = await StartAsync();
        await using var _ = issuer;
        await CommitAsync(issuer, rows: 50, bytes: 1000);
        var before = new FileInfo(database.Path).Length;

        // The gate is held (an advisory transaction in progress): a passive checkpoint of a small
        // WAL does not wait for it, and copies the frames back into the database file.
        using (await issuer.AcquireAsync(CancellationToken.None))
        {
            await checkpointer.CheckpointAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));
        }

        Assert.True(new FileInfo(database.Path).Length > before, "the database file did not receive the WAL's pages");
        var frames = await WalFramesAsync(database);
        Assert.True(frames is > 0 and < WalCheckpointer.RestartFrames);
    }

    /// <summary>A database with a filler table, the issuer's connection to it and a checkpointer (not started: the tests call it).</summary>
    private async Task<(SqliteDatabase Database, IssuerConnection Issuer, WalCheckpointer Checkpointer)> StartAsync()
    {
        var database = new SqliteDatabase(Path.Combine(_dir.Path, "advisories.db"));
        await database.MigrateAsync("CREATE TABLE filler(n INTEGER PRIMARY KEY, data BLOB NOT NULL);", CancellationToken.None);
        var issuer = new IssuerConnection(database);
        return (database, issuer, new WalCheckpointer(database, issuer, NullLogger<WalCheckpointer>.Instance));
    }

    private static async Task CommitAsync(IssuerConnection issuer, int rows, int bytes)
    {
        using var lease = await issuer.AcquireAsync(CancellationToken.None);
        await using var transaction = lease.Connection.BeginTransaction();
        for (var i = 0; i < rows; i++)
        {
            var insert = lease.Command("INSERT INTO filler(data) VALUES ($d)", transaction, ("$d", new byte[bytes]));
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    /// <summary>The WAL's frame count, as a checkpoint reports it (then copying them back, which is done after the fact here).</summary>
    private static async Task<long> WalFramesAsync(SqliteDatabase database)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("PRAGMA wal_checkpoint(PASSIVE)");
        await using var result = await command.ExecuteReaderAsync();
        await result.ReadAsync();
        return result.GetInt64(1);
    }
}
