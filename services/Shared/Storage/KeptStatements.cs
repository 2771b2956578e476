using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Shared.Storage;

/// <summary>
/// The statements of one long-lived connection, prepared on first use and kept: a hot path that
/// runs the same SQL for every event would otherwise parse and plan it again each time, and allocate
/// a command, its parameters and its native statement handles for each use. One user at a time; the
/// owner serialises access.
/// </summary>
public sealed class KeptStatements(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

    /// <summary>The connection the statements belong to.</summary>
    public SqliteConnection Connection { get; } = connection;

    /// <summary>False once the connection broke (a failed open or I/O error): the owner opens a new one.</summary>
    public bool IsOpen => Connection.State == System.Data.ConnectionState.Open;

    /// <summary>
    /// The kept statement for this SQL with the transaction and parameter values set. Owned here:
    /// do not dispose it, and dispose its reader before the next use of the same SQL.
    /// </summary>
    public SqliteCommand Command(string sql, SqliteTransaction? transaction, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!_statements.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, _) in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            _statements[sql] = command;
        }

        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters[name].Value = value ?? DBNull.Value;
        }

        return command;
    }

    /// <summary>Disposes the statements and the connection.</summary>
    public void Dispose()
    {
        foreach (var command in _statements.Values)
        {
            command.Dispose();
        }

        _statements.Clear();
        Connection.Dispose();
    }
}
