using System.Data.Common;

namespace TrustLaunch.Hosting.Storage;

/// <summary>Commands with <c>@name</c> parameters and column reads that mean the same on SQLite and PostgreSQL.</summary>
public static class StoreCommands
{
    /// <summary>A command on <paramref name="connection"/>; a null parameter value is sent as SQL NULL.</summary>
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql,
        params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        AddParameters(command, parameters);
        return command;
    }

    internal static void AddParameters(DbCommand command, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = PreparedCommands.Rent(connection, transaction, sql, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await PreparedCommands.ReturnAsync(connection, command).ConfigureAwait(false);
        }
    }

    public static async Task<object?> ScalarAsync(this DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = PreparedCommands.Rent(connection, transaction, sql, parameters);
        try
        {
            var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
        finally
        {
            await PreparedCommands.ReturnAsync(connection, command).ConfigureAwait(false);
        }
    }

    /// <summary>Every row of the query, read with <paramref name="read"/>.</summary>
    public static async Task<List<T>> QueryAsync<T>(this DbConnection connection, DbTransaction? transaction, string sql,
        Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(read);
        var command = PreparedCommands.Rent(connection, transaction, sql, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                rows.Add(read(reader));
            return rows;
        }
        finally
        {
            await PreparedCommands.ReturnAsync(connection, command).ConfigureAwait(false);
        }
    }

    /// <summary>The first row of the query read with <paramref name="read"/>, or default when there is none.</summary>
    public static async Task<T?> QuerySingleAsync<T>(this DbConnection connection, DbTransaction? transaction, string sql,
        Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(read);
        var command = PreparedCommands.Rent(connection, transaction, sql, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? read(reader) : default;
        }
        finally
        {
            await PreparedCommands.ReturnAsync(connection, command).ConfigureAwait(false);
        }
    }

    /// <summary>SQLite keeps timestamps as ISO 8601 text, PostgreSQL as timestamptz: both read back as a DateTimeOffset.</summary>
    public static DateTimeOffset GetTimestamp(this DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static DateTimeOffset? GetNullableTimestamp(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetTimestamp(ordinal);

    public static byte[] GetBlob(this DbDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);

    public static byte[]? GetNullableBlob(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetBlob(ordinal);

    public static string? GetNullableString(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? GetNullableInt64(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);
}
