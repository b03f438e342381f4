using Npgsql;

namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// Where a service keeps its state (<c>--store</c>): <c>sqlite</c>, a file in its data directory (the default), or a
/// PostgreSQL database given as a URL or libpq key=value string (<see cref="PostgresConnectionString"/>).
/// <see cref="ToString"/> never shows the password.
/// </summary>
public sealed class StoreLocation
{
    public const string SqliteName = "sqlite";

    private StoreLocation(NpgsqlConnectionStringBuilder? postgres) => Postgres = postgres;

    public static StoreLocation Sqlite { get; } = new(null);

    /// <summary>The PostgreSQL connection settings, or null for SQLite.</summary>
    public NpgsqlConnectionStringBuilder? Postgres { get; }

    /// <summary>
    /// Parses <paramref name="value"/>. A PostgreSQL password comes from the value itself, else
    /// <paramref name="passwordFileContent"/> (a file's text; one trailing newline ignored), else
    /// <paramref name="environmentPassword"/> (<c>$PGPASSWORD</c>); a password both in the value and in the file is refused.
    /// </summary>
    /// <exception cref="FormatException">The message never repeats the value.</exception>
    public static StoreLocation Parse(string value, string? passwordFileContent = null, string? environmentPassword = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value == SqliteName)
        {
            return passwordFileContent is null ? Sqlite
                : throw new FormatException("a password file is for PostgreSQL: the SQLite store has no password");
        }
        if (!PostgresConnectionString.IsPostgres(value))
            throw new FormatException("neither 'sqlite' nor a PostgreSQL URL (postgres://user@host:port/database) or key=value string");
        var settings = PostgresConnectionString.Parse(value);
        if (passwordFileContent is not null)
        {
            if (settings.Password is not null)
                throw new FormatException("the password is given twice, in the URL and in the password file: give it once");
            settings.Password = passwordFileContent.EndsWith('\n') ? passwordFileContent[..^1].TrimEnd('\r') : passwordFileContent;
        }
        else if (settings.Password is null && !string.IsNullOrEmpty(environmentPassword))
        {
            settings.Password = environmentPassword;
        }
        return new StoreLocation(settings);
    }

    /// <summary>Opens (creating and migrating as needed) <paramref name="schema"/>'s store here.</summary>
    public async Task<StoreDatabase> OpenAsync(string dataDirectory, StoreSchema schema, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(schema);
        return Postgres is null
            ? await SqliteDatabase.OpenAsync(Path.Combine(dataDirectory, schema.SqliteFileName), schema.Sqlite, cancellationToken).ConfigureAwait(false)
            : await PostgresDatabase.OpenAsync(Postgres.ConnectionString, schema.Name, schema.Postgres, cancellationToken).ConfigureAwait(false);
    }

    public override string ToString() => Postgres is null ? SqliteName : PostgresConnectionString.Describe(Postgres);
}
