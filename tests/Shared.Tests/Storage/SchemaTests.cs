using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Shared.Tests.Storage;

public sealed class SchemaTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task AddColumnIfMissing_Upgrades_A_Table_Of_An_Earlier_Release_Once_And_Keeps_Its_Rows()
    {
        var db = new SqliteDatabase(Path.Combine(_dir.Path, "svc.db"));
        await db.MigrateAsync("CREATE TABLE t(id TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');", CancellationToken.None);

        await db.AddColumnIfMissingAsync("t", "sent_at", "TEXT", CancellationToken.None);
        await db.AddColumnIfMissingAsync("t", "sent_at", "TEXT", CancellationToken.None);

        await using var connection = await db.OpenAsync(CancellationToken.None);
        await using (var update = connection.Command("UPDATE t SET sent_at = 'x' WHERE id = 'a'"))
        {
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }

        await using var columns = connection.Command("SELECT COUNT(*) FROM pragma_table_info('t')");
        Assert.Equal(2L, (long)(await columns.ExecuteScalarAsync())!);
    }
}
