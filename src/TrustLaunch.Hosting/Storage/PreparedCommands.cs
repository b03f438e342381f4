using System.Data.Common;
using System.Runtime.CompilerServices;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// Commands kept prepared on a long-lived connection, one per SQL text (at most <see cref="MaxKept"/>): the next run
/// of the same SQL binds new parameter values to the statement already compiled instead of parsing it again. SQLite
/// (Microsoft.Data.Sqlite) keeps a command's statements only as long as the command, so its writer connection keeps
/// its commands here; every other connection gets a fresh command per run (<see cref="StoreCommands.Command"/>).
/// A connection is used by one caller at a time, so a connection's commands need no lock.
/// </summary>
internal sealed class PreparedCommands
{
    public const int MaxKept = 64;
    private static readonly ConditionalWeakTable<DbConnection, PreparedCommands> Kept = [];
    private readonly Dictionary<string, DbCommand> _idle = new(StringComparer.Ordinal);

    /// <summary>From now on, commands run on <paramref name="connection"/> through <see cref="StoreCommands"/> are kept.</summary>
    public static void Keep(DbConnection connection) => Kept.AddOrUpdate(connection, new PreparedCommands());

    /// <summary>Disposes the commands kept for <paramref name="connection"/> (before it is closed).</summary>
    public static async ValueTask ForgetAsync(DbConnection connection)
    {
        if (!Kept.TryGetValue(connection, out var kept))
            return;
        Kept.Remove(connection);
        foreach (var command in kept._idle.Values)
            await command.DisposeAsync().ConfigureAwait(false);
        kept._idle.Clear();
    }

    /// <summary>The kept command for <paramref name="sql"/> with these parameters, or a new one; given back with <see cref="ReturnAsync"/>.</summary>
    public static DbCommand Rent(DbConnection connection, DbTransaction? transaction, string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!Kept.TryGetValue(connection, out var kept) || !kept._idle.Remove(sql, out var command))
            return connection.Command(transaction, sql, parameters);
        command.Transaction = transaction;
        command.Parameters.Clear();
        StoreCommands.AddParameters(command, parameters);
        return command;
    }

    /// <summary>Keeps <paramref name="command"/> for its connection's next run of its SQL, or disposes it.</summary>
    public static ValueTask ReturnAsync(DbConnection connection, DbCommand command)
    {
        if (Kept.TryGetValue(connection, out var kept) && kept._idle.Count < MaxKept && kept._idle.TryAdd(command.CommandText, command))
        {
            command.Transaction = null;
            return ValueTask.CompletedTask;
        }
        return command.DisposeAsync();
    }
}
