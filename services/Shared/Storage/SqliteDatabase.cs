using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Shared.Storage;

/// <summary>
/// A service's own SQLite file. Every connection gets WAL (readers never block the writer), a
/// busy timeout (the outbox relay and request handlers write concurrently) and foreign keys.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    /// <summary>Opens (creating if needed) the database file at the path.</summary>
    public SqliteDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>How long a statement waits for another connection's lock before failing with SQLITE_BUSY.</summary>
    public const int BusyTimeoutMs = 10_000;

    /// <summary>The pragmas every connection of the service runs when it opens.</summary>
    public static readonly string ConnectionPragmas =
        $"PRAGMA journal_mode=WAL; PRAGMA busy_timeout={BusyTimeoutMs}; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;";

    /// <summary>The file path.</summary>
    public string Path { get; }

    /// <summary>Opens a connection with the service's pragmas applied.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = ConnectionPragmas;
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    /// <summary>Runs DDL (CREATE ... IF NOT EXISTS) once at start-up.</summary>
    public async Task MigrateAsync(string ddl, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = ddl;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Adds a column that a later release introduced to a table an earlier release created
    /// (<c>CREATE TABLE IF NOT EXISTS</c> leaves existing tables as they are). Idempotent.
    /// </summary>
    public async Task AddColumnIfMissingAsync(string table, string column, string definition, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = $column";
            info.Parameters.AddWithValue("$column", column);
            if ((long)(await info.ExecuteScalarAsync(cancellationToken))! > 0)
            {
                return;
            }
        }

        await using var alter = connection.CreateCommand();
        alter.CommandText = $"ALTER TABLE {table} ADD COLUMN {column} {definition}";
        await alter.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Small ADO.NET conveniences that keep SQL readable.</summary>
public static class SqliteCommandExtensions
{
    /// <summary>Creates a command in the transaction with named parameters (<c>$name</c>).</summary>
    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }
}
