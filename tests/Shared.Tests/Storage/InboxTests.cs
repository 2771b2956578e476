using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Shared.Tests.Storage;

public sealed class InboxTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SqliteDatabase _db;

    public InboxTests()
    {
        _db = new SqliteDatabase(Path.Combine(_dir.Path, "svc.db"));
    }

    public void Dispose() => _dir.Dispose();

    private async Task ApplyAsync(string eventId, bool failAfterEffect = false)
    {
        await using var connection = await _db.OpenAsync(CancellationToken.None);
        await using var tx = connection.BeginTransaction();
        if (!await Inbox.TryRecordAsync(tx, "counter", eventId, CancellationToken.None))
        {
            return;
        }

        await using var effect = connection.Command("UPDATE counter SET n = n + 1", tx);
        await effect.ExecuteNonQueryAsync();
        if (failAfterEffect)
        {
            throw new InvalidOperationException("crash before commit");
        }

        await tx.CommitAsync();
    }

    private async Task<long> CountAsync()
    {
        await using var connection = await _db.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT n FROM counter");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private Task MigrateAsync() => _db.MigrateAsync(Inbox.Schema + "CREATE TABLE counter(n INTEGER); INSERT INTO counter VALUES (0);", CancellationToken.None);

    [Fact]
    public async Task Event_Delivered_Twice_Is_Applied_Once()
    {
        await MigrateAsync();
        await ApplyAsync("evt-1");
        await ApplyAsync("evt-1");
        Assert.Equal(1, await CountAsync());
    }

    [Fact]
    public async Task Distinct_Events_Are_Each_Applied()
    {
        await MigrateAsync();
        await ApplyAsync("evt-1");
        await ApplyAsync("evt-2");
        Assert.Equal(2, await CountAsync());
    }

    [Fact]
    public async Task Crash_Before_Commit_Leaves_The_Event_Unprocessed_So_Redelivery_Applies_It()
    {
        await MigrateAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => ApplyAsync("evt-1", failAfterEffect: true));
        await ApplyAsync("evt-1");
        Assert.Equal(1, await CountAsync());
    }
}
